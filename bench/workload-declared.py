#!/usr/bin/env python3
"""The shared workload (../shared/anchors/galera/workload.py, env GALERA_ANCHOR) with each
Skein table declared like the MariaDB one: a primary key and no other index (Harper's
`create_table` with `attributes: [{name, indexed: false}]`), so both do the same index work.
Takes the workload's arguments; prints what it prints."""
import os
import sys

ANCHOR = os.environ.get("GALERA_ANCHOR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "anchors", "galera")
sys.path.insert(0, ANCHOR)
import workload  # noqa: E402

_op = workload.SkeinConn.op


def declared_op(self, body, *args, **kwargs):
    if body.get("operation") == "create_table" and "attributes" not in body:
        body = dict(body, attributes=[{"name": body.get("primary_key", "id"), "type": "ID"}]
                    + [{"name": f, "indexed": False} for f in workload.FIELDS if f != body.get("primary_key", "id")])
    return _op(self, body, *args, **kwargs)


workload.SkeinConn.op = declared_op
sys.exit(workload.main())
