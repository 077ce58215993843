#!/usr/bin/python3
"""ouvroir-iiif-manifests: IIIF Presentation 2.1 manifests of the images on the IIIF volume.

A document is a folder of <images>/ (its pages: the images in it, in name order); each gets
<manifests>/<folder>/manifest.json, and <manifests>/collection.json lists them all. A canvas's
image is served by the Image API 2 service of the image server through the public host name:
https://<host>/iiif/2/<folder>~<file> (Cantaloupe's slash substitute, `~`, stands for the `/`
that a proxy would decode), which is how eScriptorium imports a document: it reads the
manifest, then fetches each canvas's {service @id}/full/full/0/default.jpg.

Width and height are read from each image's header (Pillow). The timer runs this every few
minutes and it rewrites nothing unless an image, a folder or this program changed since the
collection was written; `--force` rewrites everything. Files are replaced atomically, and the
manifests of folders that are gone are removed.

Usage: ouvroir-iiif-manifests [--force] [--images DIR] [--manifests DIR] [--host NAME]
       [--settings FILE]
(defaults: /srv/data/iiif/images, /srv/data/iiif/manifests, PUBLIC_HOSTNAME of
/etc/ouvroir/settings.env).
"""
import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
from urllib.parse import quote

from PIL import Image

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".tif", ".tiff", ".jp2", ".gif", ".bmp", ".webp"}
SLASH = "~"
PRESENTATION = "http://iiif.io/api/presentation/2/context.json"
IMAGE_API = "http://iiif.io/api/image/2/context.json"
PROFILE = "http://iiif.io/api/image/2/level2.json"


def settings_hostname(path="/etc/ouvroir/settings.env"):
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                if line.startswith("PUBLIC_HOSTNAME="):
                    words = shlex.split(line.split("=", 1)[1].strip())
                    return words[0] if words else ""
    except FileNotFoundError:
        pass
    return ""


def usable(name):
    """A folder or page the image server can serve under its id: no `~`, no hidden file."""
    return not name.startswith(".") and SLASH not in name and "/" not in name


def pages(folder):
    out = []
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if os.path.isfile(path) and os.path.splitext(name)[1].lower() in IMAGE_SUFFIXES:
            if usable(name):
                out.append(name)
            else:
                print(f"skipped {path}: a page's name may not hold '{SLASH}'", file=sys.stderr)
    return out


def manifest(base, doc, folder):
    """The v2 manifest of one document (base: https://<host>)."""
    doc_url = f"{base}/iiif/manifests/{quote(doc, safe='')}"
    canvases = []
    for name in pages(folder):
        try:
            with Image.open(os.path.join(folder, name)) as im:
                width, height = im.size
        except Exception as e:  # an unreadable file is left out, loudly, not the whole document
            print(f"skipped {os.path.join(folder, name)}: {e}", file=sys.stderr)
            continue
        n = len(canvases) + 1
        service = f"{base}/iiif/2/{quote(doc + SLASH + name, safe=SLASH)}"
        canvas = f"{doc_url}/canvas/p{n}"
        canvases.append({
            "@id": canvas,
            "@type": "sc:Canvas",
            "label": os.path.splitext(name)[0],
            "width": width,
            "height": height,
            "images": [{
                "@id": f"{doc_url}/annotation/p{n}",
                "@type": "oa:Annotation",
                "motivation": "sc:painting",
                "on": canvas,
                "resource": {
                    "@id": f"{service}/full/full/0/default.jpg",
                    "@type": "dctypes:Image",
                    "format": "image/jpeg",
                    "width": width,
                    "height": height,
                    "service": {"@context": IMAGE_API, "@id": service, "profile": PROFILE},
                },
            }],
        })
    return {
        "@context": PRESENTATION,
        "@id": f"{doc_url}/manifest.json",
        "@type": "sc:Manifest",
        "label": doc,
        "description": f"{len(canvases)} page(s), the images of folder {doc} on the IIIF volume",
        "viewingDirection": "left-to-right",
        "sequences": [{
            "@id": f"{doc_url}/sequence/normal",
            "@type": "sc:Sequence",
            "label": "pages in name order",
            "canvases": canvases,
        }],
    }


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".manifest.")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(value, f, ensure_ascii=False, indent=1)
        f.write("\n")
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def stale(images, collection):
    """Something changed since the collection was written (an image, a folder, this program)."""
    try:
        since = os.stat(collection).st_mtime
    except FileNotFoundError:
        return True
    if os.stat(__file__).st_mtime > since or os.stat(images).st_mtime > since:
        return True
    for root, dirs, files in os.walk(images):
        if os.stat(root).st_mtime > since:
            return True
        for name in files:
            if os.stat(os.path.join(root, name)).st_mtime > since:
                return True
    return False


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", default="/srv/data/iiif/images")
    p.add_argument("--manifests", default="/srv/data/iiif/manifests")
    p.add_argument("--host", default=None)
    p.add_argument("--settings", default="/etc/ouvroir/settings.env")
    p.add_argument("--force", action="store_true")
    a = p.parse_args(argv)
    host = a.host if a.host is not None else settings_hostname(a.settings)
    if not host:
        print("no public host name (ouvroir:publicHostname): manifests need absolute ids", file=sys.stderr)
        return 1
    base = f"https://{host}"
    collection_path = os.path.join(a.manifests, "collection.json")
    os.makedirs(a.manifests, exist_ok=True)
    if not a.force and not stale(a.images, collection_path):
        return 0
    docs = []
    for doc in sorted(os.listdir(a.images)):
        folder = os.path.join(a.images, doc)
        if not os.path.isdir(folder):
            continue
        if not usable(doc):
            print(f"skipped {folder}: a document's folder name may not hold '{SLASH}'", file=sys.stderr)
            continue
        m = manifest(base, doc, folder)
        if not m["sequences"][0]["canvases"]:
            continue
        write_json(os.path.join(a.manifests, doc, "manifest.json"), m)
        docs.append((doc, m))
    kept = {d for d, _ in docs}
    for name in os.listdir(a.manifests):
        path = os.path.join(a.manifests, name)
        if os.path.isdir(path) and name not in kept:
            shutil.rmtree(path)
    write_json(collection_path, {
        "@context": PRESENTATION,
        "@id": f"{base}/iiif/manifests/collection.json",
        "@type": "sc:Collection",
        "label": f"Documents on {host}",
        "description": "Every document (a folder of images) on the IIIF volume, one manifest each",
        "manifests": [{"@id": m["@id"], "@type": "sc:Manifest", "label": m["label"]} for _, m in docs],
    })
    pages_total = sum(len(m["sequences"][0]["canvases"]) for _, m in docs)
    print(f"ouvroir-iiif-manifests: {len(docs)} document(s), {pages_total} page(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
