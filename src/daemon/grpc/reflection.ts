/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha), served from the
 * descriptors embedded in the generated code. Nothing on npm provides this
 * for connect-es, and it is small: list the services, and answer "which
 * file defines X" with that file and everything it imports.
 */
import {
  create,
  createRegistry,
  type DescFile,
  type Registry,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import type { ConnectRouter } from "@connectrpc/connect";
import * as v1 from "../../api/gen/grpc/reflection/v1/reflection_pb.ts";
import * as v1alpha from "../../api/gen/grpc/reflection/v1alpha/reflection_pb.ts";

/** The two reflection packages have the same shape; only type names differ. */
type ReflectionModule = typeof v1;

const NOT_FOUND = 5;
const UNIMPLEMENTED = 12;

/** What the reflection service answers from. */
export interface ReflectionSource {
  /** Files whose services are listed (their imports are served too). */
  readonly files: readonly DescFile[];
}

/** Every file reachable from `files`, each once. */
function closure(files: readonly DescFile[]): DescFile[] {
  const seen = new Map<string, DescFile>();
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.set(f.name, f);
    for (const d of f.dependencies) visit(d);
  };
  files.forEach(visit);
  return [...seen.values()];
}

/** Answers reflection requests; independent of the transport for testing. */
export class Reflector {
  readonly #registry: Registry;
  readonly #services: string[];
  readonly #byFileName = new Map<string, DescFile>();

  constructor(source: ReflectionSource) {
    const all = closure([
      ...source.files,
      v1.file_grpc_reflection_v1_reflection,
      v1alpha.file_grpc_reflection_v1alpha_reflection,
    ]);
    this.#registry = createRegistry(...all);
    for (const f of all) this.#byFileName.set(f.name + ".proto", f);
    this.#services = all.flatMap((f) => f.services.map((s) => s.typeName))
      .sort();
  }

  /** Fully qualified names of every service served. */
  get services(): readonly string[] {
    return this.#services;
  }

  /** The file defining a symbol (service, method, message, enum, field...). */
  fileOfSymbol(symbol: string): DescFile | undefined {
    let name = symbol.replace(/^\./, "");
    // Methods and fields are "Parent.member": walk up until a type matches.
    for (let i = 0; i < 3 && name; i++) {
      const d = this.#registry.get(name) ?? this.#registry.getService(name);
      if (d) return d.file;
      name = name.slice(0, Math.max(0, name.lastIndexOf(".")));
    }
    return undefined;
  }

  /** A file by its proto path, e.g. "maglev/v1/maglev.proto". */
  fileByName(name: string): DescFile | undefined {
    return this.#byFileName.get(name);
  }

  /** Serialized FileDescriptorProtos of `file` and all its imports, file first. */
  descriptorsOf(file: DescFile): Uint8Array[] {
    return closure([file]).map((f) =>
      toBinary(FileDescriptorProtoSchema, f.proto)
    );
  }

  /** Builds the response to one request of either reflection version. */
  respond(
    mod: ReflectionModule,
    req: v1.ServerReflectionRequest,
  ): v1.ServerReflectionResponse {
    const base = { validHost: req.host, originalRequest: req };
    const error = (code: number, message: string) =>
      create(mod.ServerReflectionResponseSchema, {
        ...base,
        messageResponse: {
          case: "errorResponse",
          value: { errorCode: code, errorMessage: message },
        },
      });
    const files = (f: DescFile | undefined, what: string) =>
      f
        ? create(mod.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "fileDescriptorResponse",
            value: { fileDescriptorProto: this.descriptorsOf(f) },
          },
        })
        : error(NOT_FOUND, `${what} not found`);
    const r = req.messageRequest;
    switch (r.case) {
      case "listServices":
        return create(mod.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "listServicesResponse",
            value: { service: this.#services.map((name) => ({ name })) },
          },
        });
      case "fileContainingSymbol":
        return files(this.fileOfSymbol(r.value), `symbol "${r.value}"`);
      case "fileByFilename":
        return files(this.fileByName(r.value), `file "${r.value}"`);
      case "fileContainingExtension":
        return error(NOT_FOUND, "this server defines no extensions");
      case "allExtensionNumbersOfType":
        return create(mod.ServerReflectionResponseSchema, {
          ...base,
          messageResponse: {
            case: "allExtensionNumbersResponse",
            value: { baseTypeName: r.value, extensionNumber: [] },
          },
        });
      default:
        return error(UNIMPLEMENTED, "unknown reflection request");
    }
  }
}

/** Registers both reflection services on a router. */
export function registerReflection(
  router: ConnectRouter,
  source: ReflectionSource,
): Reflector {
  const reflector = new Reflector(source);
  const serve = (mod: ReflectionModule) =>
    async function* (requests: AsyncIterable<v1.ServerReflectionRequest>) {
      for await (const req of requests) yield reflector.respond(mod, req);
    };
  router.service(v1.ServerReflection, {
    serverReflectionInfo: serve(v1),
  });
  // The v1alpha types differ from v1 only in their package name; the schema
  // passed to create() decides the type name on the wire.
  const alpha = v1alpha as unknown as ReflectionModule;
  router.service(v1alpha.ServerReflection, {
    serverReflectionInfo: serve(alpha) as unknown as (
      requests: AsyncIterable<v1alpha.ServerReflectionRequest>,
    ) => AsyncIterable<v1alpha.ServerReflectionResponse>,
  });
  return reflector;
}
