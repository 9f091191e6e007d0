"""Write TensorFlow's protobuf schemas as .proto files under proto/tensorflow/.

The tensorflow wheel ships no .proto files, only the compiled `*_pb2` modules, which carry each
schema as a serialized FileDescriptorProto. This script prints those descriptors back as proto
source (messages, enums, fields with their exact numbers and labels, oneofs, maps, nested types,
packed options, imports), for the schemas ferry-tf reads: GraphDef, SavedModel and the checkpoint
bundle, plus everything they import. Comments are not in the descriptors and so not in the output.

    py="$(scripts/tf/venv.sh)"
    "$py" scripts/tf/extract_protos.py            # writes proto/tensorflow/**.proto
"""

import importlib
import os
import sys

from google.protobuf import descriptor_pb2

ROOTS = [
    "tensorflow.core.framework.graph_pb2",
    "tensorflow.core.protobuf.saved_model_pb2",
    "tensorflow.core.protobuf.tensor_bundle_pb2",
]

HEADER = """\
// Copyright The TensorFlow Authors. All Rights Reserved.
//
// Licensed under the Apache License, Version 2.0 (the "License");
// you may not use this file except in compliance with the License.
// You may obtain a copy of the License at
//
//     http://www.apache.org/licenses/LICENSE-2.0
//
// Unless required by applicable law or agreed to in writing, software
// distributed under the License is distributed on an "AS IS" BASIS,
// WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
// See the License for the specific language governing permissions and
// limitations under the License.
//
// Printed from the schema descriptor compiled into tensorflow-cpu {version}
// ({module}) by scripts/tf/extract_protos.py;
// the original comments are not part of it.

"""

TYPES = {
    1: "double", 2: "float", 3: "int64", 4: "uint64", 5: "int32", 6: "fixed64", 7: "fixed32",
    8: "bool", 9: "string", 12: "bytes", 13: "uint32", 15: "sfixed32", 16: "sfixed64",
    17: "sint32", 18: "sint64",
}


def type_name(f):
    if f.type in (11, 14):  # message, enum
        return f.type_name  # fully qualified with a leading dot
    if f.type == 10:
        raise SystemExit(f"group field {f.name} is not supported")
    return TYPES[f.type]


def field_options(f, syntax):
    opts = []
    if f.options.HasField("packed"):
        opts.append(f"packed = {'true' if f.options.packed else 'false'}")
    if f.options.deprecated:
        opts.append("deprecated = true")
    if f.HasField("default_value"):
        v = f.default_value
        if f.type == 9:
            v = '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
        opts.append(f"default = {v}")
    return f" [{', '.join(opts)}]" if opts else ""


def print_enum(e, ind, out):
    out.append(f"{ind}enum {e.name} {{")
    if e.options.allow_alias:
        out.append(f"{ind}  option allow_alias = true;")
    for v in e.value:
        dep = " [deprecated = true]" if v.options.deprecated else ""
        out.append(f"{ind}  {v.name} = {v.number}{dep};")
    for r in e.reserved_range:
        out.append(f"{ind}  reserved {r.start} to {r.end};" if r.end != r.start else f"{ind}  reserved {r.start};")
    out.append(f"{ind}}}")


def print_message(m, ind, out, syntax, maps):
    out.append(f"{ind}message {m.name} {{")
    inner = ind + "  "
    map_entries = {}
    for n in m.nested_type:
        if n.options.map_entry:
            map_entries[n.name] = n
    for e in m.enum_type:
        print_enum(e, inner, out)
    for n in m.nested_type:
        if not n.options.map_entry:
            print_message(n, inner, out, syntax, maps)
    oneof_fields = {}
    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            oneof_fields.setdefault(f.oneof_index, []).append(f)
    emitted_oneofs = set()

    def field_line(f, ind2, in_oneof):
        tn = type_name(f)
        short = tn.rsplit(".", 1)[-1]
        if f.label == 3 and f.type == 11 and short in map_entries and tn.endswith(m.name + "." + short):
            entry = map_entries[short]
            k = type_name(entry.field[0])
            v = type_name(entry.field[1])
            return f"{ind2}map<{k}, {v}> {f.name} = {f.number}{field_options(f, syntax)};"
        label = ""
        if not in_oneof:
            if f.label == 3:
                label = "repeated "
            elif syntax == "proto2":
                label = "required " if f.label == 2 else "optional "
            elif f.proto3_optional:
                label = "optional "
        return f"{ind2}{label}{tn} {f.name} = {f.number}{field_options(f, syntax)};"

    for f in m.field:
        if f.HasField("oneof_index") and not f.proto3_optional:
            i = f.oneof_index
            if i in emitted_oneofs:
                continue
            emitted_oneofs.add(i)
            out.append(f"{inner}oneof {m.oneof_decl[i].name} {{")
            for g in oneof_fields[i]:
                out.append(field_line(g, inner + "  ", True))
            out.append(f"{inner}}}")
        else:
            out.append(field_line(f, inner, False))
    for r in m.reserved_range:
        end = r.end - 1
        if end >= 536870911:
            out.append(f"{inner}reserved {r.start} to max;")
        elif end == r.start:
            out.append(f"{inner}reserved {r.start};")
        else:
            out.append(f"{inner}reserved {r.start} to {end};")
    for n in m.reserved_name:
        out.append(f'{inner}reserved "{n}";')
    for r in m.extension_range:
        out.append(f"{inner}extensions {r.start} to {r.end - 1};")
    out.append(f"{ind}}}")


def render(fd, version, module):
    syntax = fd.syntax or "proto2"
    out = [HEADER.format(version=version, module=module).rstrip("\n"), ""]
    out.append(f'syntax = "{syntax}";')
    out.append("")
    out.append(f"package {fd.package};")
    out.append("")
    for d in fd.dependency:
        out.append(f'import "{d}";')
    if fd.dependency:
        out.append("")
    for e in fd.enum_type:
        print_enum(e, "", out)
        out.append("")
    for m in fd.message_type:
        print_message(m, "", out, syntax, {})
        out.append("")
    if fd.service:
        raise SystemExit(f"{fd.name}: services are not expected")
    return "\n".join(out).rstrip("\n") + "\n"


def main():
    import tensorflow as tf

    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    dest = os.path.join(repo, "proto", "tensorflow")
    todo = []
    for r in ROOTS:
        todo.append(importlib.import_module(r).DESCRIPTOR)
    seen = {}
    while todo:
        fdesc = todo.pop()
        if fdesc.name in seen or fdesc.name.startswith("google/protobuf/"):
            continue
        seen[fdesc.name] = fdesc
        todo.extend(fdesc.dependencies)
    for name in sorted(seen):
        fdesc = seen[name]
        fd = descriptor_pb2.FileDescriptorProto()
        fdesc.CopyToProto(fd)
        module = name[:-len(".proto")].replace("/", ".") + "_pb2"
        text = render(fd, tf.__version__, module)
        # Files keep their import paths below proto/tensorflow/ (so `tensorflow/core/...` and
        # `xla/tsl/...` imports resolve with proto/tensorflow as the include root).
        path = os.path.join(dest, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        print(path, file=sys.stderr)


if __name__ == "__main__":
    main()
