"""Test harness: validates IIIF Presentation 2 documents with iiif-prezi's reader, the way a
client library reads them (every resource class, property and required field), then checks
what eScriptorium's importer uses: each canvas's size and its image's Image API 2 service.

Usage: python validate.py FILE... (the venv of tests/harness/python-tools.sh). Prints one JSON
line per file: {"file", "type", "canvases", "warnings"}; exits 1 with the reader's error.
"""
import json
import sys

from iiif_prezi import loader
from iiif_prezi.loader import ManifestReader

# The JSON-LD contexts come from iiif-prezi's own copies, never from the network. (Its loader
# predates PyLD 2's loader, which takes url and options and wants the document parsed.)
def local_context(url, options=None):
    doc = loader.load_document_local(url)
    return {**doc, "contentType": "application/ld+json", "document": json.loads(doc["document"])}


if loader.jsonld:
    loader.jsonld.set_document_loader(local_context)

IMAGE2 = "http://iiif.io/api/image/2/context.json"


def check_escriptorium(doc):
    canvases = doc["sequences"][0]["canvases"]
    for c in canvases:
        assert isinstance(c["width"], int) and c["width"] > 0, c["@id"]
        assert isinstance(c["height"], int) and c["height"] > 0, c["@id"]
        res = c["images"][0]["resource"]
        service = res["service"]
        assert service["@context"] == IMAGE2, service
        assert not service["@id"].endswith("/"), service["@id"]
        assert res["@id"] == service["@id"] + "/full/full/0/default.jpg", res["@id"]
        assert c["images"][0]["on"] == c["@id"]
    return len(canvases)


def main(files):
    for name in files:
        with open(name, encoding="utf-8") as f:
            text = f.read()
        doc = json.loads(text)
        reader = ManifestReader(text, version="2.1")
        obj = reader.read()
        # Serialising again runs the library's checks of required properties.
        obj.toJSON(top=True)
        canvases = check_escriptorium(doc) if doc["@type"] == "sc:Manifest" else 0
        print(json.dumps({"file": name, "type": doc["@type"], "canvases": canvases,
                          "warnings": reader.get_warnings()}))


if __name__ == "__main__":
    try:
        main(sys.argv[1:])
    except Exception as e:  # the reader's errors name the resource and the property
        print(f"INVALID: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
