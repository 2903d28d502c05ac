"""The HTTP intake: the web shop's way into the outbox (knows the outbox and tenants, not Dagster).

- `app.create_app(tenants, outbox)`: the Starlette app (routes, group commit); `handlers` what each
  route does (limits, rights, storing), `admission` the tenant and its token, `answers` the answer
  bodies, `bodies` reading and judging request bodies;
- `server.serve(host, port)`: the `sonet-pipeline intake` command; `server.RunningIntake` for tests;
- `enqueue_file.enqueue_file(path, tenant=..., outbox=...)`: `sonet-pipeline orders enqueue FILE`;
- `payload`: untrusted bytes to judged orders, shared by both ways in;
- `rights_gate`: the tenant's published rights at the door (NOT_ALLOWED, RIGHTS_UNKNOWN), for both;
- `openapi`: the OpenAPI document served at `/openapi.json`.
"""
