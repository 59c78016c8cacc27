"""A minimal AstraPbx bot: one FastAPI WebSocket endpoint that serves both media modes with an echo pipeline.

    pip install "pipecat-ai[websocket]" uvicorn
    python example_bot.py --port 8765
    # route an AI user to ws://<this host>:8765/ws (the relay connects to the bot)

The relay sends ``connected`` and ``start``; ``customParameters.provider`` says the mode:
``twilio`` -> Pipecat's stock ``TwilioFrameSerializer`` (with ``auto_hang_up=False``: there is no Twilio call to hang
up over REST, the relay hangs up when the WebSocket closes); ``astrapbx`` -> ``AstraPbxFrameSerializer`` (raw PCM at
the session's rate, 8 or 16 kHz). The echo plays the caller's audio back; ``#`` ends the call (the transport closes the
WebSocket with 1000 and the relay hangs the caller up). Replace ``Echo`` with your STT -> LLM -> TTS services.
"""

import argparse

import uvicorn
from fastapi import FastAPI, WebSocket
from pipecat.frames.frames import Frame, InputAudioRawFrame, InputDTMFFrame, OutputAudioRawFrame
from pipecat.pipeline.pipeline import Pipeline
from pipecat.pipeline.runner import PipelineRunner
from pipecat.pipeline.task import PipelineParams, PipelineTask
from pipecat.processors.frame_processor import FrameDirection, FrameProcessor
from pipecat.serializers.twilio import TwilioFrameSerializer
from pipecat.transports.websocket.fastapi import FastAPIWebsocketParams, FastAPIWebsocketTransport

from astrapbx_serializer import AstraPbxFrameSerializer, read_handshake

try:
    from pipecat.frames.frames import EndTaskFrame
except ImportError:  # older Pipecat
    from pipecat.frames.frames import EndFrame as EndTaskFrame

app = FastAPI()


class Echo(FrameProcessor):
    """Plays the caller's audio back; the caller pressing # ends the call."""

    async def process_frame(self, frame: Frame, direction: FrameDirection):
        await super().process_frame(frame, direction)
        if isinstance(frame, InputAudioRawFrame):
            await self.push_frame(OutputAudioRawFrame(
                audio=frame.audio, sample_rate=frame.sample_rate, num_channels=frame.num_channels))
        elif isinstance(frame, InputDTMFFrame) and frame.button.value == "#":
            await self.push_frame(EndTaskFrame(), FrameDirection.UPSTREAM)
        else:
            await self.push_frame(frame, direction)


@app.websocket("/ws")
async def bot(websocket: WebSocket):
    await websocket.accept()
    # Read the handshake ourselves: Pipecat's parse_telephony_websocket would detect "twilio" in both modes and drop
    # mediaFormat, which carries the binary mode's sample rate.
    call = await read_handshake(websocket)
    if call.is_binary:
        serializer = AstraPbxFrameSerializer.from_handshake(call)
        rate = call.sample_rate  # the pipeline runs at the wire's rate: no resampling either way
    else:
        serializer = TwilioFrameSerializer(
            stream_sid=call.stream_sid,
            call_sid=call.call_sid,
            params=TwilioFrameSerializer.InputParams(auto_hang_up=False),
        )
        rate = 8000

    transport = FastAPIWebsocketTransport(
        websocket=websocket,
        params=FastAPIWebsocketParams(
            audio_in_enabled=True,
            audio_out_enabled=True,
            add_wav_header=False,
            serializer=serializer,
        ),
    )
    task = PipelineTask(
        Pipeline([transport.input(), Echo(), transport.output()]),
        params=PipelineParams(audio_in_sample_rate=rate, audio_out_sample_rate=rate),
    )

    @transport.event_handler("on_client_disconnected")
    async def on_client_disconnected(_transport, _client):
        # The caller hung up: the relay sent stop and closed. Nothing left to say.
        await task.cancel()

    print(f"call {call.call_sid} from {call.from_number} to {call.to_number}, {call.provider} at {rate} Hz, "
          f"variables {call.variables}")
    await PipelineRunner(handle_sigint=False).run(task)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    args = parser.parse_args()
    uvicorn.run(app, host=args.host, port=args.port)
