"""The bot side of the gateway WebSocket against the golden wire frames the relay's tests also assert
(contracts/golden/gateway/gateway-wire.json): the wire functions on their own, and the Pipecat serializer when
Pipecat is importable. Standard library only: python3 -m unittest discover -s integrations/pipecat/tests
-t integrations/pipecat"""

import asyncio
import base64
import json
import pathlib
import sys
import unittest

HERE = pathlib.Path(__file__).resolve()
sys.path.insert(0, str(HERE.parents[1]))

import astrapbx_serializer as wire  # noqa: E402

GOLDEN_PATH = HERE.parents[3] / "contracts" / "golden" / "gateway" / "gateway-wire.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text(encoding="utf-8"))
SESSION = GOLDEN["session"]
STREAM_SID = "asterisk_" + SESSION["callId"]


def b64(text):
    return base64.b64decode(text)


def case(name):
    return next(c for c in GOLDEN["cases"] if c["name"] == name)


def frames(name, direction, what):
    return [f for f in case(name)[direction] if f["what"] == what]


def as_wire(frame):
    """The frame as the WebSocket delivers it: bytes for a binary frame, str for a text frame."""
    return b64(frame["bytes"]) if frame["type"] == "binary" else json.dumps(frame["json"])


class GoldenFileTests(unittest.TestCase):
    def test_golden_file_covers_both_modes_and_both_binary_rates(self):
        self.assertEqual(
            sorted(c["name"] for c in GOLDEN["cases"]),
            ["binary-16000", "binary-8000", "twilio-16000", "twilio-8000"])

    def test_closes_hang_up_on_1000_and_1001_and_fall_back_otherwise(self):
        for c in GOLDEN["cases"]:
            for frame in (f for f in c["botToRelay"] if f["type"] == "close"):
                expected = "hangup" if frame["code"] in (1000, 1001) else "fallback"
                self.assertEqual(expected, frame["relay"]["caller"], f"{c['name']} close {frame['code']}")


class HandshakeTests(unittest.TestCase):
    def test_start_gives_ids_numbers_mode_and_rate_in_every_case(self):
        for c in GOLDEN["cases"]:
            with self.subTest(c["name"]):
                connected, start = c["relayToBot"][0], c["relayToBot"][1]
                self.assertTrue(wire.is_connected(json.dumps(connected["json"])))
                hs = wire.parse_start(json.dumps(start["json"]))
                binary = c["mediaMode"] == "AstraPbxBinary"
                self.assertEqual(STREAM_SID, hs.stream_sid)
                self.assertEqual(SESSION["callId"], hs.call_sid)
                self.assertEqual(SESSION["orgId"], hs.account_sid)
                self.assertEqual(SESSION["callerNumber"], hs.from_number)
                self.assertEqual(SESSION["extension"], hs.to_number)
                self.assertEqual(binary, hs.is_binary)
                self.assertEqual("audio/x-l16" if binary else "audio/x-mulaw", hs.encoding)
                self.assertEqual(c["gatewaySampleRate"], hs.sample_rate)
                self.assertEqual(1, hs.channels)
                # The call's variables come through; its attempts at the relay's own keys do not.
                self.assertEqual({"lang": "de"}, hs.variables)
                self.assertEqual(SESSION["callerNumber"], hs.custom_parameters["from_number"])

    def test_read_handshake_reads_connected_then_start_from_a_websocket(self):
        c = case("binary-16000")

        class FakeWebSocket:
            def __init__(self, texts):
                self.texts = list(texts)

            async def receive_text(self):
                return self.texts.pop(0)

        ws = FakeWebSocket([json.dumps(c["relayToBot"][0]["json"]), json.dumps(c["relayToBot"][1]["json"])])
        hs = asyncio.run(wire.read_handshake(ws))
        self.assertEqual(16000, hs.sample_rate)
        self.assertEqual("astrapbx", hs.provider)
        self.assertEqual([], ws.texts)

    def test_start_of_an_older_relay_falls_back_to_from_to_and_8_kHz(self):
        old = {"event": "start", "start": {
            "streamSid": "asterisk_1", "callSid": "1", "accountSid": "o", "from": "+491", "to": "200",
            "mediaFormat": {"encoding": "audio/x-mulaw", "sampleRate": 8000, "channels": 1},
            "customParameters": {"provider": "astrapbx", "channel_id": "1"}}}
        hs = wire.parse_start(old)
        self.assertEqual(("+491", "200", 8000, "audio/x-l16"), (hs.from_number, hs.to_number, hs.sample_rate, hs.encoding))

    def test_a_first_frame_that_is_neither_connected_nor_start_is_refused(self):
        class One:
            async def receive_text(self):
                return json.dumps({"event": "media"})

        with self.assertRaises(wire.WireError):
            asyncio.run(wire.read_handshake(One()))


class RelayToBotTests(unittest.TestCase):
    def test_caller_audio_decodes_to_the_golden_pcm(self):
        for c in GOLDEN["cases"]:
            for frame in frames(c["name"], "relayToBot", "audio"):
                with self.subTest(c["name"]):
                    pcm = b64(frame["pcm"])
                    event = wire.parse_relay_frame(as_wire(frame))
                    self.assertEqual("audio", event.kind)
                    if frame["type"] == "binary":
                        # Binary mode: the PCM itself, one 20 ms frame at the session's rate.
                        self.assertEqual(pcm, event.pcm)
                        self.assertEqual(wire.frame_bytes(c["gatewaySampleRate"]), len(event.pcm))
                    else:
                        # Twilio mode: our mu-law encoder is the relay's, byte for byte, so the JSON is identical.
                        self.assertEqual(frame["json"], json.loads(wire.media_message(STREAM_SID, pcm)))
                        self.assertEqual(wire.ulaw_decode(wire.ulaw_encode(pcm)), event.pcm)

    def test_dtmf_mark_and_stop_decode(self):
        for c in GOLDEN["cases"]:
            if not frames(c["name"], "relayToBot", "stop"):
                continue
            with self.subTest(c["name"]):
                digits = [wire.parse_relay_frame(as_wire(f)).digit for f in frames(c["name"], "relayToBot", "dtmf")]
                self.assertEqual([f["digit"] for f in frames(c["name"], "relayToBot", "dtmf")], digits)
                mark = frames(c["name"], "relayToBot", "mark")[0]
                event = wire.parse_relay_frame(as_wire(mark))
                self.assertEqual(("mark", mark["name"]), (event.kind, event.name))
                self.assertEqual("stop", wire.parse_relay_frame(as_wire(frames(c["name"], "relayToBot", "stop")[0])).kind)

    def test_an_odd_binary_frame_is_refused(self):
        with self.assertRaises(wire.WireError):
            wire.parse_relay_frame(b"\x01\x02\x03")


class BotToRelayTests(unittest.TestCase):
    def test_encoders_produce_the_golden_frames(self):
        encoders = {
            "clear": lambda f: wire.clear_message(STREAM_SID),
            "mark": lambda f: wire.mark_message(STREAM_SID, f["relay"]["name"]),
            "stop": lambda f: wire.stop_message(STREAM_SID),
        }
        checked = 0
        for c in GOLDEN["cases"]:
            for frame in c["botToRelay"]:
                with self.subTest(f"{c['name']} {frame['what']}"):
                    what, relay = frame["what"], frame["relay"]
                    if what in encoders:
                        self.assertEqual(frame["json"], json.loads(encoders[what](frame)))
                        checked += 1
                    elif what == "audio" and frame["type"] == "binary":
                        self.assertEqual(b64(frame["bytes"]), wire.encode_audio(b64(relay["pcm"])))
                        self.assertEqual("media", relay["kind"])
                        checked += 1
                    elif what in ("audio", "audio-json"):
                        # A media event's mu-law, decoded as the relay decodes it.
                        payload = b64(frame["json"]["media"]["payload"])
                        self.assertEqual(b64(relay["pcm"]), wire.ulaw_decode(payload))
                        checked += 1
                    else:
                        # binary-ignored, dtmf-ignored, close: nothing a bot encodes; the relay's reading is asserted
                        # by the relay's own tests.
                        self.assertIn(relay["kind"], ("other", "close"))
        self.assertEqual(13, checked)  # 5 (binary 8 kHz, with a media event) + 4 (binary 16 kHz) + 4 (Twilio)

    def test_bot_audio_is_40_ms_at_the_session_rate(self):
        for name, rate in (("binary-8000", 8000), ("binary-16000", 16000)):
            audio = frames(name, "botToRelay", "audio")[0]
            self.assertEqual(wire.frame_bytes(rate, 40), len(b64(audio["bytes"])))

    def test_odd_pcm_is_refused(self):
        with self.assertRaises(wire.WireError):
            wire.encode_audio(b"\x00")


class MuLawTests(unittest.TestCase):
    def test_every_code_round_trips_except_negative_zero(self):
        codes = bytes(range(256))
        again = wire.ulaw_encode(wire.ulaw_decode(codes))
        self.assertEqual([i for i in range(256) if again[i] != i], [0x7F])

    def test_known_values(self):
        pcm = wire.ulaw_decode(b"\xff\x80\x00")
        self.assertEqual(b"\x00\x00" + (32124).to_bytes(2, "little", signed=True) + (-32124).to_bytes(2, "little", signed=True), pcm)


class ExampleBotTests(unittest.TestCase):
    def test_example_bot_compiles(self):
        path = HERE.parents[1] / "example_bot.py"
        compile(path.read_text(encoding="utf-8"), str(path), "exec")


@unittest.skipUnless(wire.PIPECAT_AVAILABLE, "pipecat is not importable here (not installable from this machine)")
class PipecatSerializerTests(unittest.TestCase):
    def setUp(self):
        from pipecat.frames.frames import EndFrame, InputAudioRawFrame, InputDTMFFrame, OutputAudioRawFrame

        self.EndFrame, self.InputAudioRawFrame = EndFrame, InputAudioRawFrame
        self.InputDTMFFrame, self.OutputAudioRawFrame = InputDTMFFrame, OutputAudioRawFrame

    def serializer(self, name):
        c = case(name)
        hs = wire.parse_start(json.dumps(c["relayToBot"][1]["json"]))
        return c, wire.AstraPbxFrameSerializer.from_handshake(hs)

    def test_caller_audio_becomes_input_audio_at_the_session_rate(self):
        for name in ("binary-8000", "binary-16000"):
            c, s = self.serializer(name)
            frame = frames(name, "relayToBot", "audio")[0]
            result = asyncio.run(s.deserialize(b64(frame["bytes"])))
            self.assertIsInstance(result, self.InputAudioRawFrame)
            self.assertEqual((b64(frame["pcm"]), c["gatewaySampleRate"], 1),
                             (result.audio, result.sample_rate, result.num_channels))

    def test_bot_audio_at_the_session_rate_goes_out_as_the_golden_bytes(self):
        for name in ("binary-8000", "binary-16000"):
            c, s = self.serializer(name)
            frame = frames(name, "botToRelay", "audio")[0]
            pcm = b64(frame["relay"]["pcm"])
            out = asyncio.run(s.serialize(self.OutputAudioRawFrame(audio=pcm, sample_rate=c["gatewaySampleRate"], num_channels=1)))
            self.assertEqual(b64(frame["bytes"]), out)

    def test_bot_audio_at_another_rate_is_resampled_to_the_session_rate(self):
        _, s = self.serializer("binary-8000")
        out = asyncio.run(s.serialize(self.OutputAudioRawFrame(audio=b"\x10\x00" * 3200, sample_rate=16000, num_channels=1)))
        self.assertIsInstance(out, bytes)
        self.assertAlmostEqual(3200, len(out), delta=200)  # 200 ms at 8 kHz, give or take the resampler's latency

    def test_interruption_becomes_the_golden_clear(self):
        try:
            from pipecat.frames.frames import InterruptionFrame as Interruption
        except ImportError:
            from pipecat.frames.frames import StartInterruptionFrame as Interruption
        _, s = self.serializer("binary-16000")
        clear = frames("binary-16000", "botToRelay", "clear")[0]
        self.assertEqual(clear["json"], json.loads(asyncio.run(s.serialize(Interruption()))))

    def test_dtmf_becomes_input_dtmf_and_stop_ends_the_pipeline(self):
        _, s = self.serializer("binary-8000")
        dtmf = frames("binary-8000", "relayToBot", "dtmf")[0]
        result = asyncio.run(s.deserialize(as_wire(dtmf)))
        self.assertIsInstance(result, self.InputDTMFFrame)
        self.assertEqual(dtmf["digit"], result.button.value)
        stop = frames("binary-8000", "relayToBot", "stop")[0]
        self.assertIsInstance(asyncio.run(s.deserialize(as_wire(stop))), self.EndFrame)

    def test_end_sends_nothing_the_close_hangs_up(self):
        _, s = self.serializer("binary-8000")
        self.assertIsNone(asyncio.run(s.serialize(self.EndFrame())))


if __name__ == "__main__":
    unittest.main()
