-- Claims with a lease, and who decided. A claim names the Routing instance that holds it and lasts until
-- lease_until; an undecided entry whose lease ran out may be claimed again by any instance. The decision is
-- written only while the claim is still held (claimed_by), so exactly one command goes out per entry.
-- Rows written before this migration have no lease: claimed_at + the configured lease stands in for it.
ALTER TABLE routing_decisions
    ADD COLUMN claimed_by   text,
    ADD COLUMN lease_until  timestamptz,
    -- routing: Routing's decision (with or without its database); ingress: the ingress's edge fallback, which is
    -- what happened to the channel and so wins over a Routing decision for the same entry.
    ADD COLUMN decided_by   text CONSTRAINT routing_decisions_decided_by_check CHECK (decided_by IN ('routing', 'ingress'));

UPDATE routing_decisions SET decided_by = 'routing' WHERE outcome IS NOT NULL;

-- The call record names who decided its outcome and which Stasis entry that outcome answers: the decision of the
-- latest entry is the call's, and within one entry the ingress's wins.
ALTER TABLE call_records
    ADD COLUMN decided_by           text CONSTRAINT call_records_decided_by_check CHECK (decided_by IN ('routing', 'ingress')),
    ADD COLUMN decision_entered_at  timestamptz;

UPDATE call_records c SET
    decided_by = 'routing',
    decision_entered_at = (SELECT max(d.entered_at) FROM routing_decisions d WHERE d.call_id = c.call_id AND d.outcome IS NOT NULL)
WHERE c.outcome IS NOT NULL;
