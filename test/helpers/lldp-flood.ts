// Run as a process of its own inside a namespace (`ip netns exec NS node lldp-flood.js IF N`):
// sends N LLDP frames out of IF as fast as it can, each with another chassis id, then prints
// `sent N`. The LLDP socket's flood test reads them in another namespace.
import { END_TLV, ethernetFrame, idTlv, ttlTlv } from './lldp-bytes.js';
import { openPacketSender } from './packet-sender.js';

const [ifname, countText] = process.argv.slice(2);
const count = Number(countText);
if (ifname === undefined || !Number.isInteger(count) || count <= 0) {
  console.error('usage: lldp-flood.js IFNAME COUNT');
  process.exit(2);
}
const sender = openPacketSender(ifname);
let sent = 0;
for (let i = 0; i < count; i++) {
  const payload = Buffer.concat([idTlv(1, 7, `flood-${i}`), idTlv(2, 7, 'Ethernet1/1'), ttlTlv(120), END_TLV]);
  sender.send(ethernetFrame([0x02, 0x00, 0x5e, 0x10, 0x0f, 0x01], payload));
  sent++;
}
sender.close();
console.log(`sent ${sent}`);
