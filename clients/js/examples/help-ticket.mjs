// The help-ticket case: two agents edit one ticket, see each other's changes live,
// and get a 412 instead of overwriting each other.
//
//   npm run build
//   LEVELSTREAM_URL=http://127.0.0.1:8000 LEVELSTREAM_TOKEN=<a key> \
//     node --experimental-websocket examples/help-ticket.mjs      # Node 22+: no flag needed
//
// Ann and Bob both watch ticket `t-...` (a snapshot, then live changes). Each reply is a
// conditional write (`If-Match: "<rev>"`): Bob writes from the version he read, after Ann
// already replied, so the server answers 412 and Bob's write does not clobber hers. Bob
// takes the version his subscription has meanwhile delivered and replies on top.
import { randomUUID } from 'node:crypto';
// In an application: from '@levelstream/client'.
import { connect, PreconditionFailedError, putDocument, RealtimeClient } from '../dist/index.js';

const baseUrl = process.env.LEVELSTREAM_URL ?? 'http://127.0.0.1:8000';
const token = process.env.LEVELSTREAM_TOKEN;
const collection = 'tickets';

class Agent {
  constructor(name, key) {
    this.name = name;
    this.key = key;
    this.api = connect({ baseUrl, token });
    this.realtime = new RealtimeClient({ baseUrl, token });
    this.latest = null; // the newest version this agent has seen
    this.waiters = [];
  }

  /** Follow the ticket: a snapshot of it, then every change, live. */
  async watch() {
    const sub = await this.realtime.subscribe({ collection, key: this.key, snapshot: true });
    for await (const change of sub) {
      console.log(`  [${this.name} sees] rev ${change.rev}: ${JSON.stringify(change.value.replies)}`);
      this.latest = change;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  async waitForRev(rev) {
    const deadline = Date.now() + 10_000;
    while (this.latest === null || this.latest.rev < rev) {
      if (Date.now() > deadline) throw new Error(`${this.name} never saw rev ${rev}`);
      await new Promise((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 250);
      });
    }
    return this.latest;
  }

  /** Append a reply, but only to the version `basedOn` (else 412). */
  async reply(text, basedOn) {
    const ticket = { ...basedOn.value, replies: [...basedOn.value.replies, `${this.name}: ${text}`] };
    const { data } = await putDocument({
      client: this.api,
      path: { collection, key: this.key },
      body: ticket,
      headers: { 'if-match': `"${basedOn.rev}"` },
    });
    return data;
  }
}

const key = `t-${randomUUID().slice(0, 8)}`;
const { data: created } = await putDocument({
  client: connect({ baseUrl, token }),
  path: { collection, key },
  body: { title: 'Printer on fire', status: 'open', replies: [] },
});
console.log(`ticket ${key} opened at rev ${created.rev}`);

const ann = new Agent('Ann', key);
const bob = new Agent('Bob', key);
const watching = [ann.watch(), bob.watch()];
try {
  // Both open the ticket and start typing from the same version.
  const annView = await ann.waitForRev(created.rev);
  const bobView = await bob.waitForRev(created.rev);

  const mine = await ann.reply("Unplugged it. Fire's out.", annView);
  console.log(`Ann replied: rev ${mine.rev}`);
  await bob.waitForRev(mine.rev); // Bob's screen shows Ann's reply, live

  try {
    await bob.reply('Calling the fire brigade!', bobView); // from the old version
    throw new Error("Bob overwrote Ann's reply: conditional writes are broken");
  } catch (error) {
    if (!(error instanceof PreconditionFailedError)) throw error;
    console.log(`Bob got 412: the ticket is at rev ${error.currentRev}, not ${bobView.rev}`);
  }

  const latest = await bob.waitForRev(mine.rev);
  const theirs = await bob.reply("Glad it's out; ordering a new printer.", latest);
  console.log(`Bob replied on top of Ann's: rev ${theirs.rev}`);
  const final = await ann.waitForRev(theirs.rev);
  if (final.value.replies.length !== 2) throw new Error(`unexpected ticket ${JSON.stringify(final.value)}`);
  console.log(`final ticket: ${JSON.stringify(final.value)}`);
} finally {
  await ann.realtime.close();
  await bob.realtime.close();
  await Promise.allSettled(watching);
}
