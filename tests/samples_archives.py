"""Sample archives, documents and container images (and damaged or hostile ones), written at test
time with freshly generated tokens."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import lzma
import random
import sqlite3
import tarfile
import zipfile
from pathlib import Path

import zstandard

from tests.samples_base import Planter


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """An uncompressed tar of name → content."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(files: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A zip of name → content."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


def archives(root: Path, p: Planter) -> list[Path]:
    """One archive per format (zip, tar, tgz, tbz2, txz, zst, 7z, jar, whl, nupkg) and a nested chain."""
    import py7zr

    root.mkdir(parents=True, exist_ok=True)

    def env() -> bytes:
        return f"GITHUB_TOKEN={p.github('archive')}\n".encode()

    def value() -> bytes:
        return p.github("archive").encode()

    out = {"a.zip": zip_bytes({"conf/.env": env()}), "b.tar": tar_bytes({"conf/.env": env()}),
           "c.tar.gz": gzip.compress(tar_bytes({"conf/.env": env()})),
           "d.tar.bz2": bz2.compress(tar_bytes({"conf/.env": env()})),
           "e.tar.xz": lzma.compress(tar_bytes({"conf/.env": env()})),
           "f.env.zst": zstandard.ZstdCompressor().compress(env()),
           "app.jar": zip_bytes({"META-INF/MANIFEST.MF": b"Manifest-Version: 1.0\n", "application.properties": env()}),
           "pkg-1.0-py3-none-any.whl": zip_bytes({"pkg/settings.py": b"TOKEN = '" + value() + b"'\n"}),
           "lib.1.0.0.nupkg": zip_bytes({"content/appsettings.json": b'{"Token": "' + value() + b'"}'}),
           "outer.zip": zip_bytes({"inner/b.tar": tar_bytes({"c/.env": env()})})}
    paths = []
    for name, data in out.items():
        (root / name).write_bytes(data)
        paths.append(root / name)
    with py7zr.SevenZipFile(root / "g.7z", "w") as z:
        z.writestr(env(), "conf/.env")
    return [*paths, root / "g.7z"]


def _docx(token_a: str, token_b: str) -> bytes:
    half = len(token_a) // 2  # Word splits text into runs anywhere, even inside a token
    doc = ('<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
           f"<w:body><w:p><w:r><w:t>key </w:t></w:r><w:r><w:t>{token_a[:half]}</w:t></w:r>"
           f"<w:r><w:rPr><w:b/></w:rPr><w:t>{token_a[half:]}</w:t></w:r></w:p>"
           f"<w:p><w:r><w:t>second {token_b}</w:t></w:r></w:p></w:body></w:document>")
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": doc.encode(),
                      "word/media/image1.png": b"\x89PNG\r\n\x1a\n\x00\x00\x00binary"})


def _xlsx(token: str) -> bytes:
    workbook = '<workbook><sheets><sheet name="Secrets" sheetId="1" r:id="rId1"/></sheets></workbook>'
    shared = f'<sst count="2"><si><t>name</t></si><si><t>{token}</t></si></sst>'
    sheet = ('<worksheet><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
             '<row r="3"><c r="A3" t="s"><v>1</v></c><c r="B3"><v>42</v></c></row></sheetData></worksheet>')
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": workbook.encode(),
                      "xl/sharedStrings.xml": shared.encode(), "xl/worksheets/sheet1.xml": sheet.encode()})


def _pptx(token: str) -> bytes:
    slide = ("<p:sld><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r>"
             f"<a:t>{token}</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>")
    return zip_bytes({"[Content_Types].xml": b"<Types/>", "ppt/slides/slide1.xml": b"<p:sld/>",
                      "ppt/slides/slide2.xml": slide.encode()})


def _odt(token: str) -> bytes:
    content = ("<office:document-content><office:body><office:text>"
               f"<text:p>key {token}</text:p></office:text></office:body></office:document-content>")
    files = {"mimetype": b"application/vnd.oasis.opendocument.text", "content.xml": content.encode()}
    return zip_bytes(files, zipfile.ZIP_STORED)


def pdf_bytes(pages: list[str], encrypted: bool = False, info: str = "") -> bytes:
    """A minimal valid PDF (Helvetica text, one line per page), written by hand from the PDF spec. `encrypted`:
    with a standard security handler whose user password is not empty (its /O and /U match no password), so
    no reader opens it without one; `info`: the Title of its document information dictionary."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>", ""]
    kids = []
    for text in pages:
        stream = f"BT /F1 10 Tf 40 700 Td ({text}) Tj ET".encode()
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream.decode()}\nendstream")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents {len(objects)} 0 R "
                       f"/Resources << /Font << /F1 {2 * len(pages) + 3} 0 R >> >> >>")
        kids.append(f"{len(objects)} 0 R")
    objects[1] = f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>"
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    extra = ""
    if encrypted:
        rnd = random.Random(len(pages))
        objects.append(f"<< /Filter /Standard /V 1 /R 2 /O <{rnd.randbytes(32).hex()}> /U <{rnd.randbytes(32).hex()}> "
                       "/P -4 >>")
        extra += f" /Encrypt {len(objects)} 0 R /ID [<{'ab' * 16}> <{'ab' * 16}>]"
    if info:
        objects.append(f"<< /Title ({info}) >>")
        extra += f" /Info {len(objects)} 0 R"
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R{extra} >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def sqlite_bytes(rows: list[tuple[str, str]]) -> bytes:
    """A SQLite database file with a users(name, api_key) table."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT, api_key TEXT, avatar BLOB)")
    db.executemany("INSERT INTO users (name, api_key, avatar) VALUES (?, ?, x'00ff')", rows)
    db.commit()
    data = db.serialize()
    db.close()
    return data


def documents(root: Path, p: Planter) -> list[Path]:
    """docx (token split over runs), xlsx, pptx, odt, a two-page PDF and a SQLite database."""
    root.mkdir(parents=True, exist_ok=True)
    row = "document"
    files = {"report.docx": _docx(p.github(row), p.github(row)), "keys.xlsx": _xlsx(p.github(row)),
             "deck.pptx": _pptx(p.github(row)), "notes.odt": _odt(p.github(row)),
             "manual.pdf": pdf_bytes(["Introduction", f"token {p.github(row)}"]),
             "app.db": sqlite_bytes([("ann", "none"), ("bob", p.github(row))])}
    for name, data in files.items():
        (root / name).write_bytes(data)
    return [root / name for name in files]


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _image_parts(p: Planter, row: str) -> tuple[list[bytes], dict[str, object], str]:
    deleted = p.github(row)  # in layer 1, deleted by a whiteout in layer 2
    layer1 = tar_bytes({"app/.env": f"GITHUB_TOKEN={deleted}\n".encode(), "app/main.py": b"print('hi')\n"})
    layer2 = tar_bytes({"app/.wh..env": b"", "app/config.yml": f"token: {p.github(row)}\n".encode()})
    config: dict[str, object] = {"architecture": "amd64", "os": "linux",
                                 "config": {"Env": ["PATH=/usr/bin", f"GH_TOKEN={p.github(row)}"],
                                            "Cmd": ["python", "main.py"]},
                                 "rootfs": {"type": "layers", "diff_ids": [_digest(layer1), _digest(layer2)]},
                                 "history": [{"created_by": "COPY app /app"},
                                             {"created_by": f"RUN curl -H 'Authorization: token {p.github(row)}' https://x"}]}
    return [layer1, layer2], config, deleted


def docker_save(root: Path, p: Planter) -> tuple[Path, str]:
    """A `docker save` tarball (legacy layout: <id>/layer.tar, one layer gzip-compressed)."""
    layers, config, deleted = _image_parts(p, "image")
    config_bytes = json.dumps(config).encode()
    files = {f"{hashlib.sha256(config_bytes).hexdigest()}.json": config_bytes,
             "l1/layer.tar": layers[0], "l2/layer.tar": gzip.compress(layers[1])}
    manifest = [{"Config": next(iter(files)), "RepoTags": ["acme/api:1.0"], "Layers": ["l1/layer.tar", "l2/layer.tar"]}]
    files["manifest.json"] = json.dumps(manifest).encode()
    root.mkdir(parents=True, exist_ok=True)
    (root / "api-image.tar").write_bytes(tar_bytes(files))
    return root / "api-image.tar", deleted


def oci_layout(root: Path, p: Planter) -> Path:
    """An OCI image layout packed as a tar (gzip layers, index → manifest → config/layers)."""
    layers, config, _ = _image_parts(p, "image")
    blobs: dict[str, bytes] = {}
    descs = []
    for layer in layers:
        gz = gzip.compress(layer)
        blobs[_digest(gz)] = gz
        media = "application/vnd.oci.image.layer.v1.tar+gzip"
        descs.append({"mediaType": media, "digest": _digest(gz), "size": len(gz)})
    config_bytes = json.dumps(config).encode()
    blobs[_digest(config_bytes)] = config_bytes
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": _digest(config_bytes)}, "layers": descs}).encode()
    blobs[_digest(manifest)] = manifest
    ref = {"org.opencontainers.image.ref.name": "acme/worker:2"}
    media = "application/vnd.oci.image.manifest.v1+json"
    index = {"schemaVersion": 2, "manifests": [{"digest": _digest(manifest), "mediaType": media, "annotations": ref}]}
    files = {"oci-layout": b'{"imageLayoutVersion": "1.0.0"}', "index.json": json.dumps(index).encode()}
    files |= {"blobs/" + d.replace(":", "/"): b for d, b in blobs.items()}
    root.mkdir(parents=True, exist_ok=True)
    (root / "worker-oci.tar").write_bytes(tar_bytes(files))
    return root / "worker-oci.tar"


def zip_bomb(size: int = 64 << 20, fill: bytes = b"0") -> bytes:
    """A zip whose one member inflates ~1000× (size bytes of fill: the text "000…" unless told otherwise; NUL
    bytes make a binary member, which is skipped from its head and never inflated)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open("zeros.txt", "w", force_zip64=True) as f:
        chunk = fill * (1 << 20)
        for _ in range(size >> 20):
            f.write(chunk)
    return buf.getvalue()


def nested_zip(token: str, depth: int) -> bytes:
    """token in a .env inside depth zips nested in each other."""
    data = zip_bytes({".env": f"GITHUB_TOKEN={token}\n".encode()})
    for level in range(depth - 1):
        data = zip_bytes({f"level{depth - 1 - level}.zip": data})
    return data


def encrypted_zip(token: str) -> bytes:
    """A zip whose member is flagged as encrypted (general purpose bit 0), beside a plain member."""
    data = zip_bytes({"secret.env": f"GITHUB_TOKEN={token}\n".encode(), "readme.txt": b"hello\n"}, zipfile.ZIP_STORED)
    # set bit 0 of the flags in the local header (offset 6) and central directory entry (offset 8) of member 1
    raw = bytearray(data)
    raw[6] |= 1
    central = raw.find(b"PK\x01\x02")
    raw[central + 8] |= 1
    return bytes(raw)
