-- Initial schema. Times are Unix nanoseconds (UTC); tags are JSON objects.
CREATE TABLE hubs (
	name TEXT PRIMARY KEY,
	region TEXT NOT NULL,
	tags TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
	modified_at BIGINT NOT NULL, modified_by TEXT NOT NULL
);
CREATE TABLE projects (
	name TEXT PRIMARY KEY,
	hub TEXT NOT NULL REFERENCES hubs(name),
	region TEXT NOT NULL,
	tags TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
	modified_at BIGINT NOT NULL, modified_by TEXT NOT NULL
);
CREATE INDEX projects_hub ON projects(hub);
CREATE TABLE endpoints (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	project TEXT NOT NULL REFERENCES projects(name),
	hub TEXT NOT NULL,
	region TEXT NOT NULL,
	model TEXT NOT NULL,
	model_id TEXT NOT NULL,
	content_safety TEXT NOT NULL,
	provisioning_state TEXT NOT NULL,
	endpoint_state TEXT NOT NULL,
	failure_reason TEXT NOT NULL,
	primary_key BYTEA NOT NULL,
	secondary_key BYTEA NOT NULL,
	tokens_per_minute BIGINT NOT NULL,
	requests_per_minute BIGINT NOT NULL,
	tags TEXT NOT NULL DEFAULT '{}',
	created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
	modified_at BIGINT NOT NULL, modified_by TEXT NOT NULL,
	UNIQUE (region, name),
	UNIQUE (project, name),
	UNIQUE (project, model)
);
CREATE TABLE models (
	name TEXT PRIMARY KEY,
	spec TEXT NOT NULL,
	created_at BIGINT NOT NULL, created_by TEXT NOT NULL,
	modified_at BIGINT NOT NULL, modified_by TEXT NOT NULL
);
CREATE TABLE principals (
	id TEXT PRIMARY KEY,
	name TEXT NOT NULL,
	token_hash TEXT NOT NULL UNIQUE,
	created_at BIGINT NOT NULL
);
CREATE TABLE role_assignments (
	id TEXT PRIMARY KEY,
	principal_id TEXT NOT NULL REFERENCES principals(id) ON DELETE CASCADE,
	role TEXT NOT NULL,
	scope TEXT NOT NULL,
	created_at BIGINT NOT NULL
);
CREATE INDEX role_assignments_principal ON role_assignments(principal_id);
CREATE TABLE usage_records (
	request_id TEXT PRIMARY KEY,
	time_ns BIGINT NOT NULL,
	hub TEXT NOT NULL,
	project TEXT NOT NULL,
	endpoint_id TEXT NOT NULL,
	endpoint TEXT NOT NULL,
	region TEXT NOT NULL,
	model TEXT NOT NULL,
	prompt_tokens BIGINT NOT NULL,
	completion_tokens BIGINT NOT NULL,
	status BIGINT NOT NULL,
	finish_reason TEXT NOT NULL,
	stream BIGINT NOT NULL,
	ttft_ns BIGINT NOT NULL,
	duration_ns BIGINT NOT NULL,
	input_cost DOUBLE PRECISION NOT NULL,
	output_cost DOUBLE PRECISION NOT NULL
);
CREATE INDEX usage_records_project_time ON usage_records(project, time_ns);
CREATE TABLE settings (
	key TEXT PRIMARY KEY,
	value TEXT NOT NULL
);
