-- Records a Gemini request about to be sent ('open'), before it is sent: if the process dies before its answer is
-- recorded, the dead-silo rescue settles it as possibly billed (CostSettleOwners). Not fenced by the job's lease.
INSERT INTO gemini_cost_ledger (request_id, job_id, client_id, attempt, call, operation_type, model, owner, expected_micros)
VALUES (@RequestId, @JobId, @ClientId, @Attempt, @Call, @OperationType, @Model, @Owner, @ExpectedMicros);
