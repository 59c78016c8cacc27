-- Wideband AI routes and how each AI session ended.
--
-- users.ai_sample_rate: the rate of an AI agent's audio, end to end. 16000 runs the AudioSocket channel driver
-- (Dial(AudioSocket/.../c(slin16))) and raw 16 kHz PCM to the bot, so it needs the binary media mode: Twilio Media
-- Streams are 8 kHz mu-law by definition.
ALTER TABLE users
    ADD COLUMN ai_sample_rate integer NOT NULL DEFAULT 8000
        CONSTRAINT users_ai_sample_rate_check CHECK (ai_sample_rate IN (8000, 16000)),
    ADD CONSTRAINT users_wideband_needs_binary_check CHECK (ai_sample_rate = 8000 OR ai_media_mode = 'astrapbx-binary');

-- One row per AI session that ended (the relay's AiSessionEnded), keyed by session: a call that re-enters Stasis as
-- ai_ended,<session> is hung up or sent to the fallback from this row, whatever other sessions the call had.
CREATE TABLE ai_session_endings (
    session_id   uuid PRIMARY KEY,
    call_id      text NOT NULL,
    ended_by     text NOT NULL,
    reason       text NOT NULL,
    ended_at     timestamptz NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now()
);
