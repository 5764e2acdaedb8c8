-- The pooler probe's clean-up: drops the prepared statements of this backend, which a transaction-mode pooler that
-- keeps no prepared statements lent to the probe's other connection (its statement would trip the pooler's next client).
DEALLOCATE ALL;
