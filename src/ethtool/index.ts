// The ethtool netlink codec in one import: pure encoders and decoders, no socket. The socket
// module sends the requests on a NETLINK_GENERIC socket, joins the "monitor" group
// (NETLINK_ADD_MEMBERSHIP with its id) and feeds the messages src/netlink/message.ts walks out
// of each datagram to decodeFamily / decodeEthtoolMessage.
export * from './constants.js';
export { decodeFamily, decodeGenlHeader, encodeGetFamilyRequest, multicastGroupId } from './genl.js';
export { decodeLinkModes, encodeLinkModesRequest, linkModeName, linkModeSpeedMbps } from './linkmodes.js';
export { decodeLinkState, encodeLinkStateRequest, linkExtStateName, linkExtSubstateName } from './linkstate.js';
export { decodeLinkInfo } from './linkinfo.js';
export { decodeEthtoolMessage } from './message.js';
export { walkBitset, type BitVisitor, type BitsetShape } from './bitset.js';
export type { Duplex, EthtoolMessage, GenlFamily, GenlHeader, GenlMulticastGroup, LinkInfo, LinkModes, LinkState } from './types.js';
