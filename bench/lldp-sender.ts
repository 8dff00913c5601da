// Run inside a namespace (`ip netns exec NS node lldp-sender.js IF RATE SECONDS`): sends LLDP
// frames out of IF at RATE per second for SECONDS, each with a random chassis id (the flood the
// neighbour limit refuses), in batches every 10 ms; then prints `sent N`.
import { randomBytes } from 'node:crypto';
import { END_TLV, ethernetFrame, idTlv, ttlTlv } from '../test/helpers/lldp-bytes.js';
import { openPacketSender } from '../test/helpers/packet-sender.js';

const [ifname, rateText, secondsText] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
if (ifname === undefined || !(rate > 0) || !(seconds > 0)) {
  console.error('usage: lldp-sender.js IFNAME RATE SECONDS');
  process.exit(2);
}
const sender = openPacketSender(ifname);
const start = performance.now();
let sent = 0;
const tick = (): void => {
  const elapsed = (performance.now() - start) / 1000;
  const due = Math.min(Math.floor(elapsed * rate), Math.floor(seconds * rate));
  while (sent < due) {
    const payload = Buffer.concat([idTlv(1, 4, randomBytes(6)), idTlv(2, 7, 'Ethernet1/1'), ttlTlv(120), END_TLV]);
    sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x0f, 0x01], payload));
    sent++;
  }
  if (elapsed >= seconds) {
    sender.close();
    console.log(`sent ${sent}`);
    return;
  }
  setTimeout(tick, 10);
};
tick();
