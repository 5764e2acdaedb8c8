-- Orleans ADO.NET providers on PostgreSQL: the query table, cluster membership and grain storage.
--
-- The providers read their SQL from the table orleansquery (key -> text) at start-up and bind parameters by name
-- (@Name). Their bootstrap statements use unquoted identifiers, so everything here is unquoted and folds to lower case.
-- Result columns are matched by name case-insensitively, hence the aliases in the stored queries.
--
-- Reminders are not used by this service: no reminder table and no reminder query keys are created.
--
-- Compare-and-swap operations are atomic on their own: the providers run each stored text as one autocommit command,
-- so the membership writes are plpgsql functions that lock the version row, and the storage writes are single
-- statements.

CREATE TABLE orleansquery (
  querykey text PRIMARY KEY,
  querytext text NOT NULL
);

-- One row per cluster (DeploymentId = ClusterOptions.ClusterId). Its version is the table-wide ETag: every successful
-- member insert or update adds exactly 1; heartbeats and cleanup leave it alone.
CREATE TABLE orleans_membership_version (
  deployment_id text PRIMARY KEY,
  version integer NOT NULL DEFAULT 0 CHECK (version >= 0),
  changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orleans_membership (
  deployment_id text NOT NULL REFERENCES orleans_membership_version (deployment_id),
  address text NOT NULL,
  port integer NOT NULL,
  generation integer NOT NULL,
  silo_name text NOT NULL,
  host_name text NOT NULL,
  status integer NOT NULL,
  proxy_port integer NOT NULL DEFAULT 0,
  suspect_times text,
  start_time timestamptz NOT NULL,
  i_am_alive_time timestamptz NOT NULL,
  PRIMARY KEY (deployment_id, address, port, generation)
);

-- Adds a member and bumps the cluster version, both or neither. The version row is locked first, so concurrent
-- writers of one cluster queue here and each sees the rows committed before it (every statement in plpgsql takes a new
-- snapshot under READ COMMITTED).
CREATE FUNCTION orleans_membership_insert(
  p_deployment_id text,
  p_address text,
  p_port integer,
  p_generation integer,
  p_silo_name text,
  p_host_name text,
  p_status integer,
  p_proxy_port integer,
  p_start_time timestamptz,
  p_i_am_alive_time timestamptz,
  p_version integer)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  current_version integer;
BEGIN
  SELECT version INTO current_version
  FROM orleans_membership_version
  WHERE deployment_id = p_deployment_id
  FOR UPDATE;

  IF current_version IS DISTINCT FROM p_version THEN
    RETURN false;
  END IF;

  IF EXISTS (
    SELECT 1 FROM orleans_membership
    WHERE deployment_id = p_deployment_id
      AND address = p_address
      AND port = p_port
      AND generation = p_generation) THEN
    RETURN false;
  END IF;

  INSERT INTO orleans_membership (
    deployment_id, address, port, generation, silo_name, host_name, status, proxy_port, suspect_times, start_time,
    i_am_alive_time)
  VALUES (
    p_deployment_id, p_address, p_port, p_generation, p_silo_name, p_host_name, p_status, p_proxy_port, NULL,
    p_start_time, p_i_am_alive_time);

  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = now()
  WHERE deployment_id = p_deployment_id;

  RETURN true;
END;
$$;

-- Changes a member's status, suspicion votes and heartbeat time and bumps the cluster version, both or neither.
CREATE FUNCTION orleans_membership_update(
  p_deployment_id text,
  p_address text,
  p_port integer,
  p_generation integer,
  p_status integer,
  p_suspect_times text,
  p_i_am_alive_time timestamptz,
  p_version integer)
RETURNS boolean
LANGUAGE plpgsql
AS $$
DECLARE
  current_version integer;
BEGIN
  SELECT version INTO current_version
  FROM orleans_membership_version
  WHERE deployment_id = p_deployment_id
  FOR UPDATE;

  IF current_version IS DISTINCT FROM p_version THEN
    RETURN false;
  END IF;

  UPDATE orleans_membership
  SET status = p_status, suspect_times = p_suspect_times, i_am_alive_time = p_i_am_alive_time
  WHERE deployment_id = p_deployment_id
    AND address = p_address
    AND port = p_port
    AND generation = p_generation;

  IF NOT FOUND THEN
    RETURN false;
  END IF;

  UPDATE orleans_membership_version
  SET version = version + 1, changed_at = now()
  WHERE deployment_id = p_deployment_id;

  RETURN true;
END;
$$;

-- Grain state. A row is identified by (service_id, grain_type_string, grain_id_n0, grain_id_n1,
-- grain_id_extension_string) with a NULL extension equal to another NULL. The unique index holds the extension's md5
-- so that long string keys stay within the btree row size limit. The hashes come from the client and only narrow the
-- lookup: queries always compare the identity columns as well.
CREATE TABLE orleans_storage (
  service_id text NOT NULL,
  grain_type_string text NOT NULL,
  grain_id_n0 bigint NOT NULL,
  grain_id_n1 bigint NOT NULL,
  grain_id_extension_string text,
  grain_id_hash integer NOT NULL,
  grain_type_hash integer NOT NULL,
  payload_binary bytea,
  version integer NOT NULL,
  modified_on timestamptz NOT NULL DEFAULT now()
);

CREATE UNIQUE INDEX orleans_storage_identity
  ON orleans_storage (service_id, grain_type_string, grain_id_n0, grain_id_n1, md5(grain_id_extension_string))
  NULLS NOT DISTINCT;

CREATE INDEX orleans_storage_lookup ON orleans_storage (grain_id_hash, grain_type_hash);

-- The stored queries. Each text is dollar-quoted with the tag $q$ so that the SQL inside needs no escaping.

-- Clustering ------------------------------------------------------------------------------------------------------

-- Creates the cluster's version row at 0 if it is missing; returns 1 when it was created, 0 when it already existed.
INSERT INTO orleansquery (querykey, querytext) VALUES ('InsertMembershipVersionKey', $q$
WITH created AS (
  INSERT INTO orleans_membership_version (deployment_id, version)
  VALUES (@DeploymentId, 0)
  ON CONFLICT (deployment_id) DO NOTHING
  RETURNING 1
)
SELECT count(*) FROM created;
$q$);

-- The version row, outer-joined to every member; a cluster without members still yields its version row.
INSERT INTO orleansquery (querykey, querytext) VALUES ('MembershipReadAllKey', $q$
SELECT
  v.version AS Version,
  m.address AS Address,
  m.port AS Port,
  m.generation AS Generation,
  m.silo_name AS SiloName,
  m.host_name AS HostName,
  m.status AS Status,
  m.proxy_port AS ProxyPort,
  m.suspect_times AS SuspectTimes,
  m.start_time AS StartTime,
  m.i_am_alive_time AS IAmAliveTime
FROM orleans_membership_version v
LEFT JOIN orleans_membership m ON m.deployment_id = v.deployment_id
WHERE v.deployment_id = @DeploymentId;
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('MembershipReadRowKey', $q$
SELECT
  v.version AS Version,
  m.address AS Address,
  m.port AS Port,
  m.generation AS Generation,
  m.silo_name AS SiloName,
  m.host_name AS HostName,
  m.status AS Status,
  m.proxy_port AS ProxyPort,
  m.suspect_times AS SuspectTimes,
  m.start_time AS StartTime,
  m.i_am_alive_time AS IAmAliveTime
FROM orleans_membership_version v
LEFT JOIN orleans_membership m
  ON m.deployment_id = v.deployment_id
  AND m.address = @Address
  AND m.port = @Port
  AND m.generation = @Generation
WHERE v.deployment_id = @DeploymentId;
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('InsertMembershipKey', $q$
SELECT orleans_membership_insert(
  @DeploymentId, @Address, @Port, @Generation, @SiloName, @HostName, @Status, @ProxyPort, @StartTime, @IAmAliveTime,
  @Version);
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('UpdateMembershipKey', $q$
SELECT orleans_membership_update(
  @DeploymentId, @Address, @Port, @Generation, @Status, @SuspectTimes, @IAmAliveTime, @Version);
$q$);

-- Heartbeat: only the member's time changes, never the cluster version.
INSERT INTO orleansquery (querykey, querytext) VALUES ('UpdateIAmAlivetimeKey', $q$
UPDATE orleans_membership
SET i_am_alive_time = @IAmAliveTime
WHERE deployment_id = @DeploymentId
  AND address = @Address
  AND port = @Port
  AND generation = @Generation;
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('GatewaysQueryKey', $q$
SELECT address AS Address, proxy_port AS ProxyPort, generation AS Generation
FROM orleans_membership
WHERE deployment_id = @DeploymentId
  AND status = @Status
  AND proxy_port > 0;
$q$);

-- Bulk cleanup, used only when the per-row key below is missing: removes every member that is not Active (3) and has
-- not sent a heartbeat since the cutoff. Besides Dead rows this clears rows of silos that died while Created, Joining
-- or shutting down, which nothing else would ever mark Dead. Active rows are never touched.
INSERT INTO orleansquery (querykey, querytext) VALUES ('CleanupDefunctSiloEntriesKey', $q$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId
  AND i_am_alive_time < @IAmAliveTime
  AND status <> 3;
$q$);

-- Per-row cleanup: deletes one row the runtime judged defunct, only if it is still Dead (6) and unchanged since it was
-- read. A NULL and an empty suspicion list are the same.
INSERT INTO orleansquery (querykey, querytext) VALUES ('CleanupDefunctSiloEntryKey', $q$
DELETE FROM orleans_membership
WHERE deployment_id = @DeploymentId
  AND address = @Address
  AND port = @Port
  AND generation = @Generation
  AND status = 6
  AND start_time = @StartTime
  AND i_am_alive_time = @IAmAliveTime
  AND coalesce(suspect_times, '') = coalesce(@SuspectTimes, '');
$q$);

INSERT INTO orleansquery (querykey, querytext) VALUES ('DeleteMembershipTableEntriesKey', $q$
DELETE FROM orleans_membership WHERE deployment_id = @DeploymentId;
DELETE FROM orleans_membership_version WHERE deployment_id = @DeploymentId;
$q$);

-- Grain storage ---------------------------------------------------------------------------------------------------

-- 0 or 1 row. A row whose payload is NULL is a cleared state that keeps its version as the ETag.
INSERT INTO orleansquery (querykey, querytext) VALUES ('ReadFromStorageKey', $q$
SELECT payload_binary AS PayloadBinary, version AS Version
FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_type_string = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension_string IS NOT DISTINCT FROM @GrainIdExtensionString;
$q$);

-- Always exactly one row: the new version, or NULL when the ETag did not match (the provider then throws
-- InconsistentStateException). Without an ETag the row is inserted at version 1 unless one already exists; with an
-- ETag the row is updated only at that version.
INSERT INTO orleansquery (querykey, querytext) VALUES ('WriteToStorageKey', $q$
WITH inserted AS (
  INSERT INTO orleans_storage (
    service_id, grain_type_string, grain_id_n0, grain_id_n1, grain_id_extension_string, grain_id_hash,
    grain_type_hash, payload_binary, version)
  SELECT
    @ServiceId, @GrainTypeString, @GrainIdN0, @GrainIdN1, @GrainIdExtensionString, @GrainIdHash, @GrainTypeHash,
    @PayloadBinary, 1
  WHERE @GrainStateVersion IS NULL
  ON CONFLICT DO NOTHING
  RETURNING version
), updated AS (
  UPDATE orleans_storage
  SET payload_binary = @PayloadBinary, version = version + 1, modified_on = now()
  WHERE @GrainStateVersion IS NOT NULL
    AND grain_id_hash = @GrainIdHash
    AND grain_type_hash = @GrainTypeHash
    AND service_id = @ServiceId
    AND grain_type_string = @GrainTypeString
    AND grain_id_n0 = @GrainIdN0
    AND grain_id_n1 = @GrainIdN1
    AND grain_id_extension_string IS NOT DISTINCT FROM @GrainIdExtensionString
    AND version = @GrainStateVersion
  RETURNING version
)
SELECT (SELECT version FROM inserted UNION ALL SELECT version FROM updated) AS NewGrainStateVersion;
$q$);

-- Clear keeps the row with a NULL payload and the next version, so the ETag keeps increasing. No row on mismatch.
INSERT INTO orleansquery (querykey, querytext) VALUES ('ClearStorageKey', $q$
UPDATE orleans_storage
SET payload_binary = NULL, version = version + 1, modified_on = now()
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_type_string = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension_string IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version AS NewGrainStateVersion;
$q$);

-- Used when DeleteStateOnClear is set: removes the row and returns a value different from the old version. No row on
-- mismatch.
INSERT INTO orleansquery (querykey, querytext) VALUES ('DeleteStorageKey', $q$
DELETE FROM orleans_storage
WHERE grain_id_hash = @GrainIdHash
  AND grain_type_hash = @GrainTypeHash
  AND service_id = @ServiceId
  AND grain_type_string = @GrainTypeString
  AND grain_id_n0 = @GrainIdN0
  AND grain_id_n1 = @GrainIdN1
  AND grain_id_extension_string IS NOT DISTINCT FROM @GrainIdExtensionString
  AND version = @GrainStateVersion
RETURNING version + 1 AS NewGrainStateVersion;
$q$);
