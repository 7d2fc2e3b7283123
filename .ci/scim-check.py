"""Runs scim2-tester (python-scim) against a running portal's /scim/v2 and exits non-zero on any
failed check. Usage: python3 .ci/scim-check.py BASE_URL TOKEN"""
import sys

import httpx
from scim2_client import BaseSyncSCIMClient
from scim2_tester import Status, check_server


class Client(BaseSyncSCIMClient):
    """scim2-client's engine over plain httpx (its own engine wants another package)."""

    def __init__(self, client, **kw):
        super().__init__(**kw)
        self.client = client

    def request(self, method, url, **kw):
        return self.client.request(method, url, **kw)

    def _parse_json(self, resp):
        return resp.json()


base, token = sys.argv[1], sys.argv[2]
scim = Client(httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30))
scim.discover()
results = check_server(scim)
failed = 0
for r in results:
    ok = r.status not in (Status.ERROR, Status.CRITICAL)
    failed += not ok
    print(f"{r.status.name:8} {r.resource_type or '-':6} {r.title}: {'' if ok else r.reason}")
passed = len(results) - failed
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
