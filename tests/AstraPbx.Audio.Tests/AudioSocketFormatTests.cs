using AstraPbx.Audio.AudioSocket;
using Xunit;

namespace AstraPbx.Audio.Tests;

public sealed class AudioSocketFormatTests
{
    [Theory]
    [InlineData(AudioSocketKind.Slin, 8000, 320)]
    [InlineData(AudioSocketKind.Slin12, 12000, 480)]
    [InlineData(AudioSocketKind.Slin16, 16000, 640)]
    [InlineData(AudioSocketKind.Slin24, 24000, 960)]
    [InlineData(AudioSocketKind.Slin32, 32000, 1280)]
    [InlineData(AudioSocketKind.Slin44, 44100, 1764)]
    [InlineData(AudioSocketKind.Slin48, 48000, 1920)]
    [InlineData(AudioSocketKind.Slin96, 96000, 3840)]
    [InlineData(AudioSocketKind.Slin192, 192000, 7680)]
    public void Audio_kinds_map_to_their_rate_and_20ms_frame_size(AudioSocketKind kind, int rate, int frameBytes)
    {
        Assert.True(AudioSocketFormat.IsAudio(kind));
        Assert.Equal(rate, AudioSocketFormat.SampleRate(kind));
        Assert.Equal(kind, AudioSocketFormat.KindForRate(rate));
        Assert.Equal(frameBytes, AudioSocketFormat.FrameBytes(rate));
    }

    [Fact]
    public void Only_0x10_to_0x18_are_audio()
    {
        for (var value = 0; value < 256; value++)
        {
            var kind = (AudioSocketKind)value;
            Assert.Equal(value is >= 0x10 and <= 0x18, AudioSocketFormat.IsAudio(kind));
            Assert.Equal(value is >= 0x10 and <= 0x18, AudioSocketFormat.SampleRate(kind) > 0);
        }
    }

    [Fact]
    public void Rates_without_a_kind_have_none() => Assert.Null(AudioSocketFormat.KindForRate(22050));
}
