"""AstraPbx's AI gateway WebSocket, seen from the bot (PROTOCOLS.md 2, docs/media-relay.md).

Two layers:

* Pure wire functions (standard library only, usable without Pipecat): read the relay's handshake, decode what the
  relay sends, encode what a bot sends, exactly as ``contracts/golden/gateway/gateway-wire.json`` states.
* ``AstraPbxFrameSerializer``, a Pipecat ``FrameSerializer`` for the binary mode (``customParameters.provider ==
  "astrapbx"``), defined only when ``pipecat`` is importable. The Twilio mode needs none of this: use Pipecat's own
  ``TwilioFrameSerializer`` with ``auto_hang_up=False``.

The relay is the WebSocket client. After ``connected`` and ``start`` (text), binary mode carries raw 16-bit signed
little-endian mono PCM both ways as binary frames, at ``start.mediaFormat.sampleRate`` (8000, or 16000 on a wideband
route); everything else is Twilio Media Streams JSON in text frames: ``dtmf``, ``mark`` (echo) and ``stop`` from the
relay; ``clear``, ``mark`` and ``stop`` from the bot. Closing the WebSocket with 1000 (or sending ``stop``) hangs up
the caller; any other close code sends the caller to the route's fallback.
"""

from __future__ import annotations

import base64
import json
import struct
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Union

BINARY_PROVIDER = "astrapbx"
TWILIO_PROVIDER = "twilio"
SUPPORTED_RATES = (8000, 16000)

# The relay's own customParameters keys; a call variable of the same name never replaces them.
RELAY_PARAMETER_KEYS = ("provider", "org_id", "channel_id", "endpoint", "from_number", "to_number")


class WireError(ValueError):
    """A frame from the relay that is not what the protocol says."""


def frame_bytes(sample_rate: int, ms: int = 20) -> int:
    """Bytes of 16-bit mono PCM in ``ms`` milliseconds: 320 per 20 ms at 8 kHz, 640 at 16 kHz."""
    return sample_rate * ms // 1000 * 2


# ---- Handshake -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Handshake:
    """What the relay's ``start`` event says about the call."""

    stream_sid: str
    call_sid: str
    account_sid: str
    from_number: str
    to_number: str
    provider: str
    encoding: str
    sample_rate: int
    channels: int
    custom_parameters: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_binary(self) -> bool:
        """True for the AstraPbx binary mode (raw PCM), False for Twilio Media Streams."""
        return self.provider == BINARY_PROVIDER

    @property
    def variables(self) -> dict[str, str]:
        """The call's own variables: ``customParameters`` without the relay's keys."""
        return {k: v for k, v in self.custom_parameters.items() if k not in RELAY_PARAMETER_KEYS}


def _json(data: Union[str, bytes, Mapping[str, Any]]) -> Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    if isinstance(data, (bytes, bytearray)):
        data = bytes(data).decode("utf-8")
    message = json.loads(data)
    if not isinstance(message, dict):
        raise WireError("expected a JSON object")
    return message


def is_connected(data: Union[str, bytes, Mapping[str, Any]]) -> bool:
    """True for the relay's first frame, ``{"event":"connected","protocol":"Call","version":"1.0.0"}``."""
    return _json(data).get("event") == "connected"


def parse_start(data: Union[str, bytes, Mapping[str, Any]]) -> Handshake:
    """Reads the relay's ``start`` event. ``from_number``/``to_number`` come from ``customParameters`` (the keys
    Pipecat's runner reads) and fall back to ``start.from``/``start.to`` for a relay older than them; ``mediaFormat``
    falls back to mu-law 8000 (what older relays sent in both modes, where binary mode meant 8 kHz PCM)."""
    message = _json(data)
    if message.get("event") != "start" or not isinstance(message.get("start"), dict):
        raise WireError(f"expected a start event, got {message.get('event')!r}")
    start = message["start"]
    custom = start.get("customParameters") or {}
    if not isinstance(custom, dict):
        raise WireError("start.customParameters is not an object")
    media = start.get("mediaFormat") or {}
    provider = str(custom.get("provider", TWILIO_PROVIDER))
    encoding = str(media.get("encoding", "audio/x-mulaw"))
    rate = int(media.get("sampleRate", 8000))
    if provider == BINARY_PROVIDER and encoding == "audio/x-mulaw":
        encoding = "audio/x-l16"  # an older relay's label; its binary frames were PCM all the same
    return Handshake(
        stream_sid=str(start.get("streamSid", "")),
        call_sid=str(start.get("callSid", "")),
        account_sid=str(start.get("accountSid", "")),
        from_number=str(custom.get("from_number", start.get("from", ""))),
        to_number=str(custom.get("to_number", start.get("to", ""))),
        provider=provider,
        encoding=encoding,
        sample_rate=rate,
        channels=int(media.get("channels", 1)),
        custom_parameters={str(k): str(v) for k, v in custom.items()},
    )


async def read_handshake(websocket: Any) -> Handshake:
    """Reads ``connected`` and ``start`` from a Starlette/FastAPI ``WebSocket`` (anything with an async
    ``receive_text()``). Use it instead of Pipecat's ``parse_telephony_websocket`` when you need the session's
    ``mediaFormat`` (the binary mode's sample rate): that helper keeps only the ids and ``customParameters``."""
    first = _json(await websocket.receive_text())
    if first.get("event") == "start":
        return parse_start(first)
    if first.get("event") != "connected":
        raise WireError(f"expected connected, got {first.get('event')!r}")
    return parse_start(await websocket.receive_text())


# ---- G.711 mu-law, as the relay does it (Twilio mode) -----------------------------------------------------------

_BIAS = 0x84
_CLIP = 32635


def _ulaw_reference(sample: int) -> int:
    sign = (sample >> 8) & 0x80
    if sign:
        sample = -sample
    sample = min(sample, _CLIP) + _BIAS
    exponent, mask = 7, 0x4000
    while not sample & mask and exponent > 0:
        exponent -= 1
        mask >>= 1
    return ~(sign | (exponent << 4) | ((sample >> (exponent + 3)) & 0x0F)) & 0xFF


def _ulaw_decode_one(code: int) -> int:
    u = ~code & 0xFF
    exponent, mantissa = (u >> 4) & 0x07, u & 0x0F
    magnitude = (((mantissa << 3) + _BIAS) << exponent) - _BIAS
    return -magnitude if u & 0x80 else magnitude


# The relay encodes through a table indexed by the sample's top 14 bits (services/AstraPbx.Audio/Codecs/MuLaw.cs):
# the low 2 bits are dropped before encoding, which differs from the reference for a few small negative samples.
_ULAW_ENCODE = bytes(_ulaw_reference(struct.unpack("<h", struct.pack("<H", i << 2))[0]) for i in range(1 << 14))
_ULAW_DECODE = tuple(_ulaw_decode_one(i) for i in range(256))


def ulaw_encode(pcm: bytes) -> bytes:
    """16-bit little-endian PCM -> G.711 mu-law, byte for byte what the relay sends in Twilio mode."""
    if len(pcm) % 2:
        raise WireError("PCM16 must have an even number of bytes")
    return bytes(_ULAW_ENCODE[u >> 2] for (u,) in struct.iter_unpack("<H", pcm))


def ulaw_decode(ulaw: bytes) -> bytes:
    """G.711 mu-law -> 16-bit little-endian PCM, as the relay decodes a bot's ``media`` payload."""
    return struct.pack(f"<{len(ulaw)}h", *(_ULAW_DECODE[b] for b in ulaw))


# ---- Relay -> bot ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RelayEvent:
    """One decoded frame from the relay. ``kind``: ``audio`` (``pcm``: caller audio at the session's rate),
    ``dtmf`` (``digit``), ``mark`` (``name``: the audio before that mark has played to the caller), ``stop`` (the
    caller hung up; a close with 1000 follows), ``connected``, ``start`` (``handshake``), or ``other``."""

    kind: str
    pcm: bytes = b""
    digit: Optional[str] = None
    name: Optional[str] = None
    handshake: Optional[Handshake] = None
    message: Optional[Mapping[str, Any]] = None


def parse_relay_frame(data: Union[str, bytes, bytearray]) -> RelayEvent:
    """Decodes one WebSocket frame from the relay: a binary frame is caller PCM (binary mode); a text frame is JSON
    (``media`` with base64 mu-law in Twilio mode, decoded to 8 kHz PCM; ``dtmf``, ``mark``, ``stop`` in both)."""
    if isinstance(data, (bytes, bytearray)):
        if len(data) % 2:
            raise WireError("a binary audio frame has an odd length")
        return RelayEvent("audio", pcm=bytes(data))
    message = _json(data)
    event = message.get("event")
    if event == "media":
        payload = (message.get("media") or {}).get("payload") or ""
        return RelayEvent("audio", pcm=ulaw_decode(base64.b64decode(payload, validate=True)), message=message)
    if event == "dtmf":
        return RelayEvent("dtmf", digit=(message.get("dtmf") or {}).get("digit"), message=message)
    if event == "mark":
        return RelayEvent("mark", name=(message.get("mark") or {}).get("name"), message=message)
    if event == "stop":
        return RelayEvent("stop", message=message)
    if event == "connected":
        return RelayEvent("connected", message=message)
    if event == "start":
        return RelayEvent("start", handshake=parse_start(message), message=message)
    return RelayEvent("other", message=message)


# ---- Bot -> relay ----------------------------------------------------------------------------------------------


def encode_audio(pcm: bytes) -> bytes:
    """Binary mode: bot audio is the PCM itself (16-bit little-endian mono at the session's rate), any length; the
    relay buffers it and plays it out one 20 ms frame per tick."""
    if len(pcm) % 2:
        raise WireError("PCM16 must have an even number of bytes")
    return bytes(pcm)


def media_message(stream_sid: str, pcm: bytes) -> str:
    """Twilio mode: ``{"event":"media","streamSid":...,"media":{"payload":<base64 mu-law>}}`` of 8 kHz PCM."""
    payload = base64.b64encode(ulaw_encode(pcm)).decode("ascii")
    return json.dumps({"event": "media", "streamSid": stream_sid, "media": {"payload": payload}})


def clear_message(stream_sid: str) -> str:
    """Barge-in: the relay drops all bot audio not yet played at the next 20 ms tick."""
    return json.dumps({"event": "clear", "streamSid": stream_sid})


def mark_message(stream_sid: str, name: str) -> str:
    """The relay echoes this mark (same name) once all audio sent before it has played to the caller."""
    return json.dumps({"event": "mark", "streamSid": stream_sid, "mark": {"name": name}})


def stop_message(stream_sid: str) -> str:
    """Ends the call: the relay hangs the caller up (as a close with 1000 does)."""
    return json.dumps({"event": "stop", "streamSid": stream_sid})


# ---- Pipecat ---------------------------------------------------------------------------------------------------

try:  # Pipecat is optional: the wire functions above work without it.
    from pipecat.frames.frames import (
        CancelFrame,
        EndFrame,
        Frame,
        InputAudioRawFrame,
        InputDTMFFrame,
        OutputAudioRawFrame,
        StartFrame,
    )
    from pipecat.serializers.base_serializer import FrameSerializer

    PIPECAT_AVAILABLE = True
except ImportError:  # pragma: no cover - depends on the environment
    PIPECAT_AVAILABLE = False


if PIPECAT_AVAILABLE:
    from pipecat.audio.utils import create_stream_resampler

    try:
        from pipecat.frames.frames import InterruptionFrame as _InterruptionFrame
    except ImportError:  # Pipecat before InterruptionFrame
        from pipecat.frames.frames import StartInterruptionFrame as _InterruptionFrame

    try:
        from pipecat.audio.dtmf.types import KeypadEntry
    except ImportError:  # older Pipecat kept it with the frames
        from pipecat.frames.frames import KeypadEntry  # type: ignore[no-redef]

    import pipecat.frames.frames as _frames

    # Frames whose message goes to the relay as JSON text, and the frame a mark echo becomes; the names changed
    # across Pipecat versions.
    _OUTPUT_MESSAGE_FRAMES = tuple(
        cls for cls in (getattr(_frames, name, None) for name in (
            "OutputTransportMessageFrame", "OutputTransportMessageUrgentFrame",
            "TransportMessageFrame", "TransportMessageUrgentFrame")) if cls is not None)
    _InputMessageFrame = getattr(_frames, "InputTransportMessageFrame", None) or getattr(
        _frames, "InputTransportMessageUrgentFrame", None)

    try:
        from pipecat.serializers.base_serializer import FrameSerializerType as _FrameSerializerType
    except ImportError:  # newer Pipecat dropped the type property
        _FrameSerializerType = None

    class AstraPbxFrameSerializer(FrameSerializer):
        """Pipecat serializer for AstraPbx's binary mode (``customParameters.provider == "astrapbx"``).

        * Caller audio: binary frames of 16-bit PCM at the session's rate -> ``InputAudioRawFrame`` at the pipeline's
          input rate (resampled when they differ, like Pipecat's telephony serializers).
        * Bot audio: ``OutputAudioRawFrame`` -> binary PCM at the session's rate (resampled from the frame's rate).
        * Interruption -> ``clear``; ``dtmf`` -> ``InputDTMFFrame``; ``stop`` -> ``EndFrame``; a ``mark`` echo ->
          an input transport message (when this Pipecat has one), so bot code can see its audio has played.
        * Transport message frames -> their JSON (send ``mark_message(...)`` this way).
        * ``EndFrame``/``CancelFrame`` send nothing: the transport then closes the WebSocket with 1000, which hangs up
          the caller. No REST call, no credentials.
        """

        def __init__(self, stream_sid: str, sample_rate: int = 8000, pipeline_sample_rate: Optional[int] = None,
                     **kwargs: Any):
            """``stream_sid`` and ``sample_rate`` come from the relay's ``start`` (``Handshake.stream_sid``,
            ``Handshake.sample_rate``); ``pipeline_sample_rate`` overrides the pipeline's input rate taken from the
            ``StartFrame``."""
            super().__init__(**kwargs)
            if sample_rate not in SUPPORTED_RATES:
                raise ValueError(f"AstraPbx carries 8000 or 16000 Hz, not {sample_rate}")
            self._stream_sid = stream_sid
            self._session_rate = sample_rate
            self._pipeline_rate_override = pipeline_sample_rate
            self._pipeline_rate = pipeline_sample_rate or sample_rate
            self._input_resampler = create_stream_resampler()
            self._output_resampler = create_stream_resampler()

        @classmethod
        def from_handshake(cls, handshake: Handshake, **kwargs: Any) -> "AstraPbxFrameSerializer":
            """The serializer for a call whose ``start`` was read with ``read_handshake``/``parse_start``."""
            return cls(handshake.stream_sid, handshake.sample_rate, **kwargs)

        @property
        def type(self):  # Pipecat versions that still ask for it
            """Binary: audio goes both ways as binary frames (control stays JSON text)."""
            return _FrameSerializerType.BINARY if _FrameSerializerType is not None else "binary"

        @property
        def session_sample_rate(self) -> int:
            """The rate of the PCM on the wire (``start.mediaFormat.sampleRate``)."""
            return self._session_rate

        async def setup(self, frame: StartFrame):
            """Takes the pipeline's input rate from the ``StartFrame`` (or whatever setup object this Pipecat passes
            that carries ``audio_in_sample_rate``), unless ``pipeline_sample_rate`` was given."""
            rate = getattr(frame, "audio_in_sample_rate", None)
            self._pipeline_rate = self._pipeline_rate_override or rate or self._pipeline_rate

        async def serialize(self, frame: Frame) -> Union[str, bytes, None]:
            ignore = getattr(self, "should_ignore_frame", None)
            if ignore is not None and ignore(frame):
                return None
            if isinstance(frame, _InterruptionFrame):
                return clear_message(self._stream_sid)
            if isinstance(frame, OutputAudioRawFrame):
                audio = frame.audio
                if frame.sample_rate != self._session_rate:
                    audio = await self._output_resampler.resample(audio, frame.sample_rate, self._session_rate)
                return encode_audio(audio) if audio else None
            if _OUTPUT_MESSAGE_FRAMES and isinstance(frame, _OUTPUT_MESSAGE_FRAMES):
                return json.dumps(frame.message)
            if isinstance(frame, (EndFrame, CancelFrame)):
                return None  # the transport's close (1000) hangs up
            return None

        async def deserialize(self, data: Union[str, bytes]) -> Optional[Frame]:
            event = parse_relay_frame(data)
            if event.kind == "audio":
                if not event.pcm:
                    return None
                rate = self._session_rate if isinstance(data, (bytes, bytearray)) else 8000
                audio = event.pcm
                if rate != self._pipeline_rate:
                    audio = await self._input_resampler.resample(audio, rate, self._pipeline_rate)
                if not audio:
                    return None
                return InputAudioRawFrame(audio=audio, num_channels=1, sample_rate=self._pipeline_rate)
            if event.kind == "dtmf":
                try:
                    return InputDTMFFrame(KeypadEntry(event.digit))
                except ValueError:
                    return None
            if event.kind == "stop":
                return EndFrame()
            if event.kind == "mark" and _InputMessageFrame is not None:
                return _InputMessageFrame(message=dict(event.message or {}))
            if event.kind == "start" and event.handshake is not None:
                # The transport got the handshake itself (nobody read it first): take the session's rate from it.
                self._stream_sid = event.handshake.stream_sid
                if event.handshake.sample_rate in SUPPORTED_RATES:
                    self._session_rate = event.handshake.sample_rate
            return None
