// kubernetes-models' validators accept fields the API does not have (the OpenAPI schemas allow
// them), so a misspelt field such as `readinesProbe` would pass and be dropped by the API server.
// This walks an object along the models' type declarations, as `kubectl --validate=strict` would.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const modules = new URL('../../node_modules/', import.meta.url).pathname;

/** A field's declared type, when it is a model of its own (or an array of one). */
interface FieldType {
  readonly file: string;
  readonly array: boolean;
}

const shapes = new Map<string, Map<string, FieldType | undefined> | undefined>();

const resolve = (from: string, spec: string): string => (spec.startsWith('.') ? join(dirname(from), spec.replace(/\.js$/, '.d.ts')) : join(modules, `${spec}.d.ts`));

/** The fields of the interface a declaration file exports; undefined for a plain type (Quantity, IntOrString, Time). */
function shapeOf(file: string): Map<string, FieldType | undefined> | undefined {
  if (shapes.has(file)) return shapes.get(file);
  const text = readFileSync(file, 'utf8');
  const start = text.search(/^export interface I\w+(?: extends TypeMeta)? \{$/m);
  let fields: Map<string, FieldType | undefined> | undefined;
  if (start !== -1) {
    const body = text.slice(start, text.indexOf('\n}', start));
    const imports = new Map([...text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)].map((m) => [m[1] as string, m[2] as string]));
    fields = new Map();
    for (const m of body.matchAll(/^ {4}"([^"]+)"\??: (.+)$/gm)) {
      const named = /^(Array<)?(IIoK8s\w+)>?;$/.exec(m[2] as string);
      const spec = named ? imports.get(named[2] as string) : undefined;
      fields.set(m[1] as string, spec === undefined ? undefined : { file: resolve(file, spec), array: named?.[1] !== undefined });
    }
  }
  shapes.set(file, fields);
  return fields;
}

/** The paths of every field of `object` that its apiVersion and kind do not declare; [] when all are known. */
export function unknownFields(object: { apiVersion: string; kind: string }): string[] {
  const found: string[] = [];
  const walk = (value: unknown, file: string, path: string): void => {
    const fields = shapeOf(file);
    if (fields === undefined || value === null || typeof value !== 'object' || Array.isArray(value)) return;
    for (const [key, child] of Object.entries(value)) {
      if (!fields.has(key)) {
        found.push(`${path}.${key}`);
        continue;
      }
      const type = fields.get(key);
      if (type === undefined) continue;
      if (type.array && Array.isArray(child)) child.forEach((item, i) => walk(item, type.file, `${path}.${key}[${i}]`));
      else walk(child, type.file, `${path}.${key}`);
    }
  };
  walk(object, join(modules, 'kubernetes-models', object.apiVersion, `${object.kind}.d.ts`), object.kind);
  return found;
}
