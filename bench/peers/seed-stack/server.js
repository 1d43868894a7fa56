// The seed's stack, as the talk builds it: express + level (LevelDB) + socket.io.
//
// PUT stores the JSON value and broadcasts the change to every connected socket;
// GET reads one document; a range route reads up to `limit` documents in key order.
// No auth, no change log, no fsync (level's default `sync: false`): this is the
// baseline Levelstream is measured against (bench/README.md, suite `peers`).
//
//   PORT=8001 DATA_DIR=/tmp/seed node server.js
"use strict";

const http = require("node:http");
const express = require("express");
const { Level } = require("level");
const { Server } = require("socket.io");

const port = Number(process.env.PORT || 8001);
const host = process.env.HOST || "127.0.0.1";
const dataDir = process.env.DATA_DIR || "./seed-data";

// Keys are `<collection>!<key>`: one keyspace, ordered by collection then key.
const SEP = "!";
const END = "\xff";
const MAX_LIMIT = 1000;

const db = new Level(dataDir, { valueEncoding: "json" });
const app = express();
app.disable("x-powered-by");
app.disable("etag");
app.use(express.json({ limit: "1mb" }));

let writes = 0; // acknowledged writes, for the benchmark's loss check

const server = http.createServer(app);
const io = new Server(server, {
  // Compression off, as for every target of the benchmark.
  perMessageDeflate: false,
  httpCompression: false,
  serveClient: false,
});

app.get("/readyz", (_req, res) => {
  res.json({ ok: true, writes, sockets: io.engine.clientsCount });
});

app.put("/v1/collections/:collection/docs/:key", async (req, res, next) => {
  try {
    const { collection, key } = req.params;
    const value = req.body;
    await db.put(collection + SEP + key, value);
    writes += 1;
    io.emit("change", { op: "put", collection, key, value });
    res.json({ collection, key, value });
  } catch (err) {
    next(err);
  }
});

app.get("/v1/collections/:collection/docs/:key", async (req, res, next) => {
  try {
    const { collection, key } = req.params;
    const value = await db.get(collection + SEP + key);
    if (value === undefined) {
      res.status(404).json({ error: "not_found" });
      return;
    }
    res.json({ collection, key, value });
  } catch (err) {
    next(err);
  }
});

app.get("/v1/collections/:collection/docs", async (req, res, next) => {
  try {
    const { collection } = req.params;
    const q = req.query;
    const base = collection + SEP;
    const range = { limit: Math.min(Number(q.limit || 100), MAX_LIMIT) };
    if (q.gt !== undefined) range.gt = base + q.gt;
    else range.gte = base + (q.gte || "");
    if (q.lt !== undefined) range.lt = base + q.lt;
    else if (q.lte !== undefined) range.lte = base + q.lte;
    else range.lt = base + END;
    const items = [];
    for await (const [k, value] of db.iterator(range)) {
      items.push({ collection, key: k.slice(base.length), value });
    }
    res.json({ items });
  } catch (err) {
    next(err);
  }
});

async function main() {
  await db.open();
  server.listen(port, host);
}

function shutdown() {
  io.close();
  server.close();
  db.close().finally(() => process.exit(0));
}

process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);
main().catch((err) => {
  console.error(err);
  process.exit(1);
});
