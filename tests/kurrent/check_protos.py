"""Compares Chronicle's .proto files (Protos/kurrentdb/v1) with the descriptors the official Python
client was generated from (kurrentdbclient's *_pb2 modules): every message, field name, number, type,
label and oneof, every service method and its streaming, for each file both sides have. The wire
contract is what the clients were built with, not our reading of it.

Usage: python tests/kurrent/check_protos.py   (kurrentdbclient and grpcio-tools installed)
Exit 1 on any difference the client would see."""
import importlib
import os
import subprocess
import sys
import tempfile

from google.protobuf import descriptor_pb2

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTOS = os.path.join(ROOT, "Protos", "kurrentdb", "v1")
FILES = ["shared", "streams", "persistent", "gossip", "status", "code", "serverfeatures"]
CLIENT_MODULES = {"shared": "shared_pb2", "streams": "streams_pb2", "persistent": "persistent_pb2", "gossip": "gossip_pb2",
                  "status": "status_pb2"}


def ours():
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "set.pb")
        import grpc_tools

        well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
        subprocess.run(
            [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTOS}", f"-I{well_known}", "--include_imports",
             f"--descriptor_set_out={out}"] + [f"{name}.proto" for name in FILES],
            check=True, cwd=PROTOS)
        files = descriptor_pb2.FileDescriptorSet()
        with open(out, "rb") as f:
            files.ParseFromString(f.read())
        return {os.path.splitext(os.path.basename(fd.name))[0]: fd for fd in files.file}


def theirs(module):
    proto = descriptor_pb2.FileDescriptorProto()
    importlib.import_module(f"kurrentdbclient.protos.v1.{module}").DESCRIPTOR.CopyToProto(proto)
    return proto


def short(type_name):
    # Package prefixes differ where a client renamed a package (kurrentdb.rpc for google.rpc): the wire
    # does not carry them, so compare the message's own name.
    return type_name.rsplit(".", 1)[-1] if type_name else ""


def messages(prefix, descriptors, into):
    for m in descriptors:
        name = f"{prefix}.{m.name}"
        oneofs = [o.name for o in m.oneof_decl]
        fields = {}
        for f in m.field:
            oneof = oneofs[f.oneof_index] if f.HasField("oneof_index") and not f.proto3_optional else None
            fields[f.number] = (f.name, f.type, f.label, short(f.type_name), oneof)
        into[name] = fields
        messages(name, m.nested_type, into)
        for e in m.enum_type:
            into[f"{name}.{e.name}"] = {v.number: (v.name,) for v in e.value}


def table(fd):
    into = {}
    messages(fd.package, fd.message_type, into)
    for e in fd.enum_type:
        into[f"{fd.package}.{e.name}"] = {v.number: (v.name,) for v in e.value}
    for s in fd.service:
        for m in s.method:
            into[f"service {fd.package}.{s.name}/{m.name}"] = {
                0: (short(m.input_type), short(m.output_type), m.client_streaming, m.server_streaming)}
    return into


def main():
    problems = []
    mine = ours()
    for name, module in CLIENT_MODULES.items():
        a, b = table(mine[name]), table(theirs(module))
        for key in sorted(set(a) | set(b), key=lambda k: (k.split(".")[-1], k)):
            if key not in a:
                # A package the client renamed is the same message on the wire.
                renamed = [k for k in a if k.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1] and a[k] == b[key]]
                if not renamed:
                    problems.append(f"{name}: missing here: {key} {b[key]}")
                continue
            if key not in b:
                renamed = [k for k in b if k.rsplit(".", 1)[-1] == key.rsplit(".", 1)[-1]]
                if not renamed:
                    print(f"note {name}: only here (clients ignore it): {key}")
                continue
            for number in sorted(set(a[key]) | set(b[key])):
                if number not in b[key]:
                    print(f"note {name}: {key} field {number} {a[key][number]} only here (older clients ignore it)")
                elif number not in a[key]:
                    problems.append(f"{name}: {key} field {number} missing here: {b[key][number]}")
                elif a[key][number] != b[key][number]:
                    problems.append(f"{name}: {key} field {number}: here {a[key][number]}, client {b[key][number]}")
    for p in problems:
        print("DIFFERENT", p)
    print(f"{len(problems)} differences from kurrentdbclient's descriptors")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
