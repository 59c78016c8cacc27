-- The relay's drift-correction counts per AI session (AiSessionEnded.FramesTrimmed and FramesTrimmedForSkippedTicks):
-- the bot audio it dropped to give back delay, and how much of that was for ticks the relay itself skipped (its clock
-- stalled, or Asterisk stopped reading) rather than gaps the bot's late audio left. NULL on rows written before.
ALTER TABLE call_records
    ADD COLUMN frames_trimmed                   bigint,
    ADD COLUMN frames_trimmed_for_skipped_ticks bigint;
