"""A minimal local stand-in for API Gateway (HTTP API, payload 2.0): serves a
Lambda-style ``handler(event, context)`` on 127.0.0.1 and prints its port.

    python api_gateway.py MODULE_PATH [PORT]
"""

import importlib.util
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def load(path: str):
    spec = importlib.util.spec_from_file_location("function", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.handler


def main() -> None:
    handler = load(sys.argv[1])

    class Adapter(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0))).decode()
            event = {
                "version": "2.0",
                "routeKey": "$default",
                "rawPath": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "requestContext": {"http": {"method": "POST", "path": self.path}},
                "body": body,
                "isBase64Encoded": False,
            }
            try:
                result = handler(event, None)
                status, payload = result.get("statusCode", 200), result.get("body", "")
            except Exception as error:  # a failing handler is a 502, as API Gateway answers
                status, payload = 502, json.dumps({"message": f"{type(error).__name__}: {error}"})
            data = payload.encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2]) if len(sys.argv) > 2 else 0), Adapter)
    print(f"listening {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
