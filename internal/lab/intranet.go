package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// The intranet site: Debian's nginx in the services host, on the intranet's
// own address (10.213.N.5) port 443, with a certificate of the lab CA that
// names intranet.corp.example.test and the address. IntranetPath answers 200
// with a small page, anything else (IntranetMissingPath) 404. The
// workstations trust the lab CA (workstation.go), so curl verifies it.

const intranetDir = "intranet" // under services/

// nginxConf is the site's whole configuration (arguments: folder, listen
// address, server name, certificate, key). Everything nginx writes (pid,
// logs, temporary files) stays in the folder; the master runs as root and so
// do its workers, which then read the site wherever Config.Dir is.
const nginxConf = `# Written by the onboard lab: the intranet site.
user root root;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log;
events {
	worker_connections 256;
}
http {
	access_log %[1]s/access.log;
	client_body_temp_path %[1]s/tmp/body;
	proxy_temp_path %[1]s/tmp/proxy;
	fastcgi_temp_path %[1]s/tmp/fastcgi;
	uwsgi_temp_path %[1]s/tmp/uwsgi;
	scgi_temp_path %[1]s/tmp/scgi;
	types {
		text/html html;
	}
	default_type application/octet-stream;
	server {
		listen %[2]s:443 ssl;
		server_name %[3]s;
		ssl_certificate %[4]s;
		ssl_certificate_key %[5]s;
		root %[1]s/www;
		index index.html;
	}
}
`

const intranetPage = `<!doctype html>
<html><head><title>ACME intranet</title></head>
<body><h1>ACME intranet</h1><p>Welcome. Help desk: help@corp.example.test.</p></body></html>
`

// intranet is the component that starts the intranet site.
type intranet struct{}

func (intranet) name() string { return "intranet site" }

func (intranet) start(ctx context.Context, l *Lab) error {
	dir := l.serviceDir(intranetDir)
	for _, d := range []string{filepath.Join(dir, "www"), filepath.Join(dir, "tmp")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "www", "index.html"), []byte(intranetPage), 0o644); err != nil {
		return err
	}
	addr := hostAddr(l.cfg.Subnet, intranetHost)
	cert, key, err := l.issueCert(ctx, NameIntranet, addr, FQDN(NameIntranet))
	if err != nil {
		return err
	}
	conf := fmt.Sprintf(nginxConf, dir, addr, FQDN(NameIntranet), cert, key)
	if err := os.WriteFile(filepath.Join(dir, "nginx.conf"), []byte(conf), 0o644); err != nil {
		return err
	}
	return l.startDaemon(ctx, l.intranetDaemon())
}

func (l *Lab) intranetDaemon() daemon {
	dir := l.serviceDir(intranetDir)
	conf := filepath.Join(dir, "nginx.conf")
	return daemon{
		// nginx checks its configuration, then forks into the background;
		// -e: its error log before it has read the configuration.
		script: fmt.Sprintf("nginx -p %s/ -c %s -e %s </dev/null >>%s 2>&1",
			shq(dir), shq(conf), shq(filepath.Join(dir, "error.log")), shq(filepath.Join(dir, "start.log"))),
		match:  "-c " + conf,
		listen: []string{svcListen(hostAddr(l.cfg.Subnet, intranetHost), IntranetPort)},
		log:    filepath.Join(dir, "error.log"),
	}
}

// IntranetURL is the intranet site's URL for a path ("/" answers 200).
func IntranetURL(path string) string { return "https://" + FQDN(NameIntranet) + path }
