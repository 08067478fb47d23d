#!/usr/bin/env python3
"""Firmware metadata tool of the host SDK (standard library only).

Subcommands, with argument names shaped like the real core's tool:
  gen_build_info   write build_info.json (build_id, build_timestamp, build_version)
  create_manifest  describe the firmware parts in manifest.json, staging their files
  create_fw        pack manifest.json and the staged parts into the firmware zip
  get              print values of a JSON file by dotted key
"""

import argparse
import datetime
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

MANIFEST_NAME = "manifest.json"


def fail(msg):
    print("mgos_fw_meta.py: %s" % msg, file=sys.stderr)
    sys.exit(1)


def make_public(path):
    # mkstemp creates 0600; outputs get the usual 0666 minus the umask.
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(path, 0o666 & ~mask)


def write_atomically(path, data):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=d, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        make_public(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def to_json(obj):
    return json.dumps(obj, indent=2, sort_keys=True)


# ---- gen_build_info ----------------------------------------------------------


def git(repo, *args):
    """Output of a git command in repo, or None when git or the repo is missing."""
    try:
        out = subprocess.run(["git", "-C", repo] + list(args),
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                             universal_newlines=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.strip()


def cmd_gen_build_info(args):
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    repo = args.repo_path or os.getcwd()
    describe = git(repo, "describe", "--tags", "--dirty", "--always")
    head = git(repo, "log", "-n", "1", "--format=%H %ct", "HEAD")
    branch = git(repo, "rev-parse", "--abbrev-ref", "HEAD")
    in_git = bool(describe and head)
    dirty = in_git and describe.endswith("-dirty")
    if dirty:
        describe = describe[:-len("-dirty")]
    hash7 = head.split()[0][:7] if in_git else ""
    # git describe --always prints the bare hash when there is no tag.
    has_tag = in_git and not describe.startswith(hash7)
    exact_tag = has_tag and git(repo, "describe", "--tags", "--exact-match") is not None

    version = args.version
    if not version:
        if args.tag_as_version == "true" and exact_tag and not dirty:
            version = describe
        elif in_git and not dirty:
            ts = datetime.datetime.fromtimestamp(int(head.split()[1]), datetime.timezone.utc)
            version = ts.strftime("%Y%m%d%H%M")
        else:
            version = now.strftime("%Y%m%d%H%M")

    build_id = args.id
    if not build_id:
        build_id = now.strftime("%Y%m%d-%H%M%S")
        if in_git:
            parts = []
            if has_tag:
                parts.append(describe)
            if not exact_tag:
                parts.append("g" + hash7)
            if branch and branch != "HEAD":
                parts.append(branch)
            if dirty:
                parts.append("dirty")
            build_id += "/" + "-".join(parts)

    info = {
        "build_id": build_id,
        "build_timestamp": args.timestamp or now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "build_version": version,
    }
    text = to_json(info)
    if args.json_output:
        write_atomically(args.json_output, text.encode("utf-8"))
    else:
        print(text)


# ---- create_manifest ---------------------------------------------------------


def convert_value(v):
    """Attribute value of a part spec or --extra-attr: bool, number or string."""
    if v == "":
        return v
    if v[0] in "'\"":
        if len(v) < 2 or v[-1] != v[0]:
            raise ValueError("unterminated quote in %r" % v)
        return v[1:-1].replace("\\" + v[0], v[0])
    if v in ("true", "false"):
        return v == "true"
    try:
        return int(v, 0)
    except ValueError:
        pass
    try:
        return float(v)
    except ValueError:
        return v


def convert_extra_attr(v):
    """Value of --extra-attr: bool, null, integer, else the string as is."""
    if v in ("true", "false"):
        return v == "true"
    if v == "null":
        return None
    try:
        return int(v, 0)
    except ValueError:
        return v


def file_digests(path, algos):
    with open(path, "rb") as f:
        data = f.read()
    d = {"size": len(data)}
    for algo in algos:
        d["cs_" + algo] = hashlib.new(algo, data).hexdigest()
    return d


def parse_part(spec):
    name, sep, attrs = spec.partition(":")
    if not sep or not name:
        raise ValueError("part %r: want name:key=value,..." % spec)
    part = {}
    for kv in attrs.split(","):
        if not kv:
            continue
        k, sep, v = kv.partition("=")
        if not sep:
            raise ValueError("part %r: %r is not key=value" % (spec, kv))
        part[k] = convert_value(v)
    return name, part


def write_image(src_dir, image):
    """Pack the regular files directly in src_dir into an uncompressed tar."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(image)), prefix=".tmp-")
    os.close(fd)
    try:
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tf:
            for fn in sorted(os.listdir(src_dir)):
                p = os.path.join(src_dir, fn)
                if not os.path.isfile(p):
                    continue
                info = tarfile.TarInfo(fn)
                info.size = os.path.getsize(p)
                info.mode = 0o644
                info.mtime = 0
                with open(p, "rb") as f:
                    tf.addfile(info, f)
        make_public(tmp)
        os.replace(tmp, image)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def cmd_create_manifest(args):
    algos = [a for a in args.checksums.split(",") if a]
    manifest = {"name": args.name, "platform": args.platform}
    if args.description:
        manifest["description"] = args.description
    if os.path.isfile(args.build_info):
        with open(args.build_info, encoding="utf-8") as f:
            bi = json.load(f)
    else:
        bi = json.loads(args.build_info)
    manifest["version"] = bi["build_version"]
    for k in ("build_id", "build_timestamp"):
        if k in bi:
            manifest[k] = bi[k]
    for e in args.extra_attr:
        if not e:
            continue
        k, sep, v = e.partition("=")
        if not sep:
            fail("--extra-attr %r: want key=value" % e)
        manifest[k] = convert_extra_attr(v)

    staging = args.staging_dir
    if staging:
        os.makedirs(staging, exist_ok=True)
    parts = {}
    for spec in args.parts:
        try:
            name, part = parse_part(spec)
        except ValueError as e:
            fail(str(e))
        src = part.get("src")
        if isinstance(src, str) and src:
            if not os.path.isabs(src) and not os.path.exists(src):
                src = os.path.join(args.src_dir, src)
            if os.path.isfile(src):
                part.update(file_digests(src, algos))
                part["src"] = os.path.basename(src)
                if staging:
                    shutil.copyfile(src, os.path.join(staging, part["src"]))
            elif os.path.isdir(src):
                # A directory part becomes one image file, as the real
                # platforms' fs parts are (stock mos reads every part's src
                # as a file name): an uncompressed tar of its regular files,
                # flat, sorted, with fixed times so equal files give equal
                # bytes.
                if not staging:
                    fail("part %s: a directory part needs --staging_dir" % name)
                image = os.path.join(staging, "%s.img" % name)
                write_image(src, image)
                part.update(file_digests(image, algos))
                part["src"] = os.path.basename(image)
            else:
                fail("part %s: %s does not exist" % (name, src))
        parts[name] = part
    manifest["parts"] = parts

    text = to_json(manifest)
    if args.output:
        write_atomically(args.output, text.encode("utf-8"))
    else:
        print(text)


# ---- create_fw ---------------------------------------------------------------


def cmd_create_fw(args):
    with open(args.manifest, encoding="utf-8") as f:
        manifest = json.load(f)
    top = "%s-%s" % (manifest["name"], manifest["version"])
    src_dir = args.src_dir or os.path.dirname(os.path.abspath(args.manifest))
    entries = {}  # archive name -> file on disk
    for name, part in manifest.get("parts", {}).items():
        src = part.get("src")
        if isinstance(src, str) and src:
            entries[top + "/" + src] = os.path.join(src_dir, src)
    for arc, path in entries.items():
        if not os.path.isfile(path):
            fail("%s: %s is missing (run create_manifest with --staging_dir)" % (arc, path))

    out_dir = os.path.dirname(os.path.abspath(args.output))
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=".tmp-", suffix=".zip")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_STORED) as zf:
            zf.writestr(top + "/" + MANIFEST_NAME, to_json(manifest))
            for arc in sorted(entries):
                zf.write(entries[arc], arc)
        make_public(tmp)
        os.replace(tmp, args.output)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if args.versioned_dir:
        # The copy named with the version, made here rather than by a second
        # run of this script: every interpreter start costs a build time.
        copy = os.path.join(args.versioned_dir, "%s-%s-%s.zip" % (manifest["name"], manifest["platform"], manifest["version"]))
        shutil.copyfile(args.output, copy + ".tmp")
        make_public(copy + ".tmp")
        os.replace(copy + ".tmp", copy)
        print("Built %s/%s version %s" % (manifest["name"], manifest["platform"], manifest["version"]))


# ---- get ---------------------------------------------------------------------


def cmd_get(args):
    with open(args.json_file, encoding="utf-8") as f:
        obj = json.load(f)
    for key in args.keys:
        v = obj
        for k in key.split("."):
            if not isinstance(v, dict) or k not in v:
                fail("%s: no key %r" % (args.json_file, key))
            v = v[k]
        print(v if isinstance(v, str) else json.dumps(v))


def main():
    ap = argparse.ArgumentParser(description="Firmware metadata tool of the host SDK.")
    sub = ap.add_subparsers(dest="cmd")
    sub.required = True

    p = sub.add_parser("gen_build_info", help="write build info JSON")
    p.add_argument("--repo_path", help="git repo to describe (default: cwd)")
    p.add_argument("--id", "-i", default="", help="build id (default: time + git state)")
    p.add_argument("--version", "-v", default="", help="version (default: tag or time)")
    p.add_argument("--timestamp", "-t", default="", help="build timestamp (default: now)")
    p.add_argument("--tag_as_version", choices=["true", "false"], default="false")
    p.add_argument("--json_output", help="output file (default: stdout)")
    p.set_defaults(func=cmd_gen_build_info)

    p = sub.add_parser("create_manifest", help="write manifest.json")
    p.add_argument("--name", "-n", required=True)
    p.add_argument("--platform", "-p", required=True)
    p.add_argument("--build_info", "-i", required=True, help="build info JSON file or text")
    p.add_argument("--description", "-d")
    p.add_argument("--checksums", default="sha1,sha256")
    p.add_argument("--src_dir", default=".")
    p.add_argument("--staging_dir")
    p.add_argument("--output", "-o")
    p.add_argument("--extra-attr", dest="extra_attr", action="append", default=[])
    p.add_argument("parts", nargs="+", help="name:key=value,... (src=file, or dir packed as <name>.img)")
    p.set_defaults(func=cmd_create_manifest)

    p = sub.add_parser("create_fw", help="write the firmware zip")
    p.add_argument("--manifest", "-m", required=True)
    p.add_argument("--output", "-o", required=True)
    p.add_argument("--src_dir", help="where the staged parts are (default: manifest's dir)")
    p.add_argument("--versioned_dir", help="also copy the zip there as <name>-<platform>-<version>.zip")
    p.set_defaults(func=cmd_create_fw)

    p = sub.add_parser("get", help="print values from a JSON file")
    p.add_argument("json_file")
    p.add_argument("keys", nargs="+")
    p.set_defaults(func=cmd_get)

    args = ap.parse_args()
    try:
        args.func(args)
    except (OSError, ValueError, KeyError) as e:
        fail("%s: %s" % (args.cmd, e))


if __name__ == "__main__":
    main()
