// Sends the JSON objects on stdin (one per line) to a Fluentd forward server with the real @fluent-org/logger client:
//   node send.js <port> <mode> <tag> <ack|noack> [sharedKey] < events.ndjson
// mode: Message, Forward, PackedForward or CompressedPackedForward. Prints "sent <n>" once every emit promise resolved
// (with ack: once the server acknowledged each chunk), then exits 0; on any error prints it and exits 1.
const { FluentClient, EventTime } = require("@fluent-org/logger");

async function main() {
  const [port, mode, tag, ack, sharedKey] = process.argv.slice(2);
  const options = {
    socket: { host: "127.0.0.1", port: Number(port), timeout: 30000 },
    eventMode: mode,
    flushInterval: 5,
  };
  if (ack === "ack") {
    options.ack = { ackTimeout: 30000 };
  }
  if (sharedKey) {
    options.security = { clientHostname: "watershed-it-client", sharedKey };
  }
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  const records = Buffer.concat(chunks).toString("utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
  const dot = tag.indexOf(".");
  const logger = new FluentClient(tag.substring(0, dot), options);
  const label = tag.substring(dot + 1);
  const sends = records.map((record, i) => logger.emit(label, record, i % 2 === 0 ? EventTime.now() : new Date()));
  await Promise.all(sends);
  await logger.shutdown();
  console.log(`sent ${records.length}`);
}

main().catch((e) => {
  console.error(`failed: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
