// Follows one collection and prints every change as a JSON line, until `count` changes:
// tests/test_sdk_js.py restarts the server meanwhile and checks each arrives exactly once.
// Usage: node --experimental-websocket test/follow.mjs <websocket|sse> <collection> <count>
// (LEVELSTREAM_URL and LEVELSTREAM_TOKEN in the environment).
import { EventSource } from 'eventsource';
import { RealtimeClient } from '../dist/index.js';

const [transport, collection, count] = process.argv.slice(2);
const rt = new RealtimeClient({
  baseUrl: process.env.LEVELSTREAM_URL,
  token: process.env.LEVELSTREAM_TOKEN,
  transport,
  EventSource,
  backoffMaxMs: 500,
});
const deadline = setTimeout(() => {
  console.error('follow.mjs: timed out');
  process.exit(2);
}, 60_000);
const sub = await rt.subscribe({ collection, since: 0 });
console.log(JSON.stringify({ ready: true }));
let seen = 0;
for await (const change of sub) {
  console.log(JSON.stringify({ seq: change.seq, key: change.key, op: change.op }));
  if (++seen >= Number(count)) break;
}
console.log(JSON.stringify({ done: true, connections: rt.connections }));
clearTimeout(deadline);
await rt.close();
