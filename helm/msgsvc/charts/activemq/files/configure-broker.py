#!/usr/bin/env python3
"""Write the ActiveMQ users, groups, JAAS and broker files for PanDA.

Inputs (environment, from the Secret <secretsRelease>-msgsvc-envs):
  ACTIVEMQ_BASE_PASSWD  password of the "system" administrator; account <a> gets "<base>_<a>"
  ACTIVEMQ_ACCOUNTS     account names separated by ";" (e.g. "panda;jedi;idds;pilot")
  ACTIVEMQ_CHANNELS     channels separated by ";", each "name:writers:readers" with
                        comma-separated account lists (e.g. "panda_idds:panda,jedi:idds")
Arguments: <broker template> <output directory>
The template contains the line "@AUTHORIZATION_ENTRIES@", replaced by one queue and one topic entry
per channel (for "name" and "name.>"). Every account is in the group "users" and in a group of its
own name; "system" is the only member of "admins".
"""
import os
import sys
from xml.sax.saxutils import quoteattr


def fail(message):
    sys.stderr.write("configure-broker: %s\n" % message)
    sys.exit(1)


def split(value, separator):
    return [item.strip() for item in value.split(separator) if item.strip()]


def escape_property(text):
    # java.util.Properties: backslash escapes; keys must also escape separators and spaces
    return text.replace("\\", "\\\\")


def escape_key(text):
    out = escape_property(text)
    for char in (":", "=", " ", "#", "!"):
        out = out.replace(char, "\\" + char)
    return out


def main():
    if len(sys.argv) != 3:
        fail("usage: configure-broker.py <template> <output-dir>")
    template_path, out_dir = sys.argv[1], sys.argv[2]
    base = os.environ.get("ACTIVEMQ_BASE_PASSWD", "")
    if not base:
        fail("ACTIVEMQ_BASE_PASSWD is empty: check the msgsvc-envs Secret of the secrets release")
    accounts = split(os.environ.get("ACTIVEMQ_ACCOUNTS", ""), ";")
    channels = split(os.environ.get("ACTIVEMQ_CHANNELS", ""), ";")
    if "system" in accounts:
        fail('"system" is reserved for the administrator and cannot be an account')

    users = ["%s=%s" % (escape_key("system"), escape_property(base))]
    users += ["%s=%s" % (escape_key(a), escape_property("%s_%s" % (base, a))) for a in accounts]
    groups = ["admins=system", "users=%s" % ",".join(accounts)]
    groups += ["%s=%s" % (escape_key(a), a) for a in accounts]

    entries = []
    for channel in channels:
        parts = channel.split(":")
        if len(parts) != 3 or not parts[0]:
            fail("channel %r is not name:writers:readers" % channel)
        name, writers, readers = parts
        unknown = [a for a in split(writers, ",") + split(readers, ",") if a not in accounts]
        if unknown:
            fail("channel %r names unknown accounts %s" % (name, ", ".join(unknown)))
        write = ",".join(["admins"] + split(writers, ","))
        read = ",".join(["admins"] + split(readers, ","))
        for kind in ("queue", "topic"):
            for destination in (name, name + ".>"):
                entries.append(
                    "<authorizationEntry %s=%s read=%s write=%s admin=%s/>"
                    % (kind, quoteattr(destination), quoteattr(read), quoteattr(write),
                       quoteattr("admins,users")))

    with open(template_path) as handle:
        template = handle.read()
    if "@AUTHORIZATION_ENTRIES@" not in template:
        fail("template %s lacks @AUTHORIZATION_ENTRIES@" % template_path)
    indent = "\n" + " " * 14
    broker = template.replace("@AUTHORIZATION_ENTRIES@", indent.join(entries))

    os.makedirs(out_dir, exist_ok=True)
    files = {
        "activemq.xml": broker,
        "users.properties": "\n".join(users) + "\n",
        "groups.properties": "\n".join(groups) + "\n",
        "login.config": (
            "activemq {\n"
            "    org.apache.activemq.jaas.PropertiesLoginModule required\n"
            '        org.apache.activemq.jaas.properties.user="users.properties"\n'
            '        org.apache.activemq.jaas.properties.group="groups.properties";\n'
            "};\n"),
    }
    for name, content in files.items():
        path = os.path.join(out_dir, name)
        with open(path, "w") as handle:
            handle.write(content)
        os.chmod(path, 0o600)
    print("configure-broker: %d accounts, %d channels" % (len(accounts), len(channels)))


if __name__ == "__main__":
    main()
