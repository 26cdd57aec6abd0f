// pscheck: syntax-check PowerShell scripts with a real PowerShell grammar
// (tree-sitter-powershell, run by web-tree-sitter).
//
//   node tools/pscheck/check.mjs FILE.ps1...
//
// Prints "file:line:col: syntax error near ..." for every error or missing
// node (line and column count from 1; the column counts characters) and
// exits 1 if there is any, 2 if a file cannot be read or the grammar cannot
// be loaded, 0 if every file parses clean.
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import { Language, Parser } from 'web-tree-sitter';

// The grammar is a 1 MB WebAssembly module; V8's optimizing tier takes about
// 8 s of CPU to compile it, and node waits for that before it exits. The
// baseline compiler alone parses these small scripts just as fast. Set
// before Parser.init compiles any WebAssembly.
v8.setFlagsFromString('--liftoff-only');

const grammar = fileURLToPath(
  new URL('./node_modules/tree-sitter-powershell/tree-sitter-powershell.wasm', import.meta.url),
);

function position(text, index) {
  // index counts UTF-16 code units, as web-tree-sitter's do for JS strings.
  const before = text.slice(0, index);
  const lineStart = before.lastIndexOf('\n') + 1;
  const line = before.split('\n').length;
  const col = [...before.slice(lineStart)].length + 1;
  return `${line}:${col}`;
}

// near shows the node's own text or, for an empty node, what follows it.
function near(node, text) {
  let s = node.text;
  if (s === '') s = text.slice(node.startIndex);
  s = s.split(/\r?\n/)[0];
  if (s === '') return node.startIndex >= text.length ? 'end of file' : 'end of line';
  return JSON.stringify(s.length > 40 ? s.slice(0, 40) + '...' : s);
}

function describe(node, text) {
  if (node.isMissing) {
    const context = node.parent ?? node;
    return `syntax error near ${near(context, text)}: missing ${JSON.stringify(node.type)}`;
  }
  return `syntax error near ${near(node, text)}`;
}

// problems returns every error and missing node, outermost first, visiting
// only subtrees that contain one.
function problems(node, out = []) {
  if (node.isError || node.isMissing) out.push(node);
  if (node.isError || node.hasError) {
    for (const child of node.children) problems(child, out);
  }
  return out;
}

async function main(files) {
  if (files.length === 0) {
    console.error('usage: node check.mjs FILE.ps1...');
    return 2;
  }
  await Parser.init();
  const parser = new Parser();
  parser.setLanguage(await Language.load(grammar));
  let status = 0;
  for (const file of files) {
    let text;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      console.error(`${file}: ${err.message}`);
      status = 2;
      continue;
    }
    if (text.startsWith('\uFEFF')) text = text.slice(1);
    const tree = parser.parse(text);
    for (const node of problems(tree.rootNode)) {
      console.log(`${file}:${position(text, node.startIndex)}: ${describe(node, text)}`);
      if (status === 0) status = 1;
    }
    tree.delete();
  }
  return status;
}

process.exitCode = await main(process.argv.slice(2)).catch((err) => {
  console.error(`pscheck: ${err.stack || err}`);
  return 2;
});
