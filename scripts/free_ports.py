"""Prints N free TCP ports on loopback (default 1), for the test servers of
scripts/postgres.sh and scripts/s3.sh. They are taken below the kernel's range
for outgoing connections: a port picked from that range can be taken by another
test's connection before the server binds it."""
import random
import socket
import sys

count = int(sys.argv[1]) if len(sys.argv) > 1 else 1
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
ports = []
while len(ports) < count:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", random.randrange(10000, low) if low > 11000 else 0))
        port = s.getsockname()[1]
        if port not in ports:
            ports.append(port)
    except OSError:
        pass
    finally:
        s.close()
print(" ".join(map(str, ports)))
