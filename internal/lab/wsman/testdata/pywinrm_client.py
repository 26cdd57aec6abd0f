"""Runs WinRM operations with pywinrm for the wsman tests.

Reads a JSON job on stdin: url, user, password, transport, validation, ca,
operation_timeout and ops (a list of {"cmd": ..., "args": [...]} or
{"ps": ...}); prints one JSON result per op: stdout, stderr, code, or error.
"""
import json
import sys

import winrm


def main():
    job = json.load(sys.stdin)
    kwargs = dict(
        transport=job["transport"],
        server_cert_validation=job.get("validation", "validate"),
    )
    if job.get("ca"):
        kwargs["ca_trust_path"] = job["ca"]
    if job.get("message_encryption"):
        kwargs["message_encryption"] = job["message_encryption"]
    if job.get("operation_timeout"):
        kwargs["operation_timeout_sec"] = job["operation_timeout"]
        kwargs["read_timeout_sec"] = job["operation_timeout"] + 10
    results = []
    try:
        session = winrm.Session(job["url"], auth=(job["user"], job["password"]), **kwargs)
    except Exception as e:  # reported per op below
        session, setup_error = None, "%s: %s" % (type(e).__name__, e)
    for op in job["ops"]:
        if session is None:
            results.append({"error": setup_error})
            continue
        try:
            if "ps" in op:
                r = session.run_ps(op["ps"])
            else:
                r = session.run_cmd(op["cmd"], op.get("args", []))
            results.append({
                "stdout": r.std_out.decode("utf-8"),
                "stderr": r.std_err.decode("utf-8"),
                "code": r.status_code,
            })
        except Exception as e:
            results.append({"error": "%s: %s" % (type(e).__name__, e)})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
