/**
 * The URI a process on this machine reaches a listening server at (what the workflow engine gives
 * tasks as their tracking URI).
 */
import type { AddressInfo } from 'node:net';

/**
 * `http://<host>:<port>` of a server's bound address (`server.address()`): a wildcard address
 * (`0.0.0.0`, `::`) becomes the loopback address of its family, an IPv6 host is bracketed.
 * Undefined before the server listens, or for a pipe or Unix socket.
 *
 * @example
 * listenUri({ address: '0.0.0.0', family: 'IPv4', port: 5000 }); // 'http://127.0.0.1:5000'
 * listenUri({ address: '::', family: 'IPv6', port: 5000 });      // 'http://[::1]:5000'
 */
export function listenUri(address: AddressInfo | string | null): string | undefined {
  if (address === null || typeof address === 'string') return undefined;
  const host =
    address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
  return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
}
