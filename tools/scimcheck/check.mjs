// scimcheck: apply SCIM PATCH operations and evaluate SCIM filters with
// independent implementations (scim-patch, scim2-parse-filter), so that Go
// tests can compare internal/scim's results with theirs.
//
//   node tools/scimcheck/check.mjs < cases.json
//
// Input: {"patch": [{"resource": {...}, "operations": [...]}, ...],
//         "filter": [{"filter": "userName eq \"x\"", "resources": [{...}, ...]}, ...]}
// Output: {"patch": [{"result": {...}} or {"error": "..."}, ...],
//          "filter": [{"matched": [indexes]} or {"error": "..."}, ...]}
// Exit status 0 unless the input cannot be read; a case that fails carries
// its error in the output.
import { scimPatch } from 'scim-patch';
import { parse, filter } from 'scim2-parse-filter';

async function readStdin() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function patchCase({ resource, operations }) {
  try {
    const result = scimPatch(resource, operations, { mutateDocument: false, treatMissingAsAdd: true });
    return { result };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

function filterCase({ filter: text, resources }) {
  try {
    const f = filter(parse(text));
    const matched = [];
    resources.forEach((r, i) => {
      if (f(r)) matched.push(i);
    });
    return { matched };
  } catch (e) {
    return { error: String(e && e.message ? e.message : e) };
  }
}

let input;
try {
  input = JSON.parse(await readStdin());
} catch (e) {
  process.stderr.write(`scimcheck: cannot read input: ${e.message}\n`);
  process.exit(2);
}
const out = {
  patch: (input.patch ?? []).map(patchCase),
  filter: (input.filter ?? []).map(filterCase),
};
process.stdout.write(JSON.stringify(out) + '\n');
