#!/usr/bin/python3
"""Alertmanager's configuration with its receivers' secrets (components/monitoring.ts).

Run as root before Alertmanager starts (its unit's ExecStartPre). Reads the configuration the
program rendered without secrets, adds the SMTP relay's password to each e-mail receiver that
logs in and a webhook receiver when its URL was written, and writes alertmanager.yml 0640,
readable by the prometheus group only. The secrets come from 0600 files day-2 writes; none is
ever in user data. Usage: alertmanager-config.py [DIR] (default /etc/ouvroir/monitoring).
"""
import grp
import os
import sys

import yaml

DIR = sys.argv[1] if len(sys.argv) > 1 else "/etc/ouvroir/monitoring"


def secret(name):
    try:
        with open(os.path.join(DIR, "secrets", name), encoding="utf-8") as f:
            return f.read().strip() or None
    except FileNotFoundError:
        return None


with open(os.path.join(DIR, "alertmanager-nosecrets.yml"), encoding="utf-8") as f:
    config = yaml.safe_load(f)
password = secret("smtp-password")
webhook = secret("webhook-url")
for receiver in config.get("receivers", []):
    for email in receiver.get("email_configs", []):
        if "auth_username" in email:
            if password is None:
                print("alertmanager-config: the relay wants a login and no password was written"
                      " (ouvroir:alertSmtpPassword): e-mails will be refused", file=sys.stderr)
            else:
                email["auth_password"] = password
    if webhook is not None:
        receiver.setdefault("webhook_configs", []).append({"url": webhook, "send_resolved": True})

target = os.path.join(DIR, "alertmanager.yml")
new = target + ".new"
fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w", encoding="utf-8") as f:
    f.write("# ouvroir: written by alertmanager-config.py at each start; edit nothing here.\n")
    yaml.safe_dump(config, f, sort_keys=False)
try:
    gid = grp.getgrnam(os.environ.get("OUVROIR_ALERTMANAGER_GROUP", "prometheus")).gr_gid
    os.chown(new, 0 if os.geteuid() == 0 else -1, gid)
except KeyError:
    pass
os.chmod(new, 0o640)
os.replace(new, target)
