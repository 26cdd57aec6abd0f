package winsim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// opCheckHTTP fetches the URL for real, from this machine, as the
// check-http script's HttpWebRequest does: no redirect followed, the
// certificate read whether trusted or not, trust judged against
// Config.RootCAs. {"status","body","error","error_status","subject",
// "issuer","expires","trust"}; .NET's WebException messages and
// WebExceptionStatus names
// (https://learn.microsoft.com/dotnet/api/system.net.webexceptionstatus).
func opCheckHTTP(v *inv) int {
	h := v.h
	rawURL := v.str("url")
	ms, _ := strconv.Atoi(v.str("timeout_ms"))
	timeout := time.Duration(max(ms, 1)) * time.Millisecond
	insecure := v.in["insecure"] == true
	readBody := v.in["read_body"] == true

	var subject, issuer, expires, trust string
	var resolveFailed string
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			ip := host
			if net.ParseIP(host) == nil {
				addrs, _, _ := h.resolveName(ctx, host, timeout)
				if len(addrs) == 0 {
					resolveFailed = host
					return nil, errors.New("no such host")
				}
				ip = addrs[0]
			}
			var d net.Dialer
			return d.DialContext(ctx, network, net.JoinHostPort(ip, port))
		},
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true, // judged below, as the callback does
			VerifyConnection: func(cs tls.ConnectionState) error {
				if len(cs.PeerCertificates) == 0 {
					return errors.New("no certificate")
				}
				leaf := cs.PeerCertificates[0]
				subject, issuer = dotnetName(leaf.Subject.String()), dotnetName(leaf.Issuer.String())
				expires = leaf.NotAfter.UTC().Format("1/2/2006 3:04:05 PM")
				inter := x509.NewCertPool()
				for _, c := range cs.PeerCertificates[1:] {
					inter.AddCert(c)
				}
				var errs []string
				if _, err := leaf.Verify(x509.VerifyOptions{Roots: h.cfg.RootCAs, Intermediates: inter}); err != nil {
					errs = append(errs, "RemoteCertificateChainErrors")
				}
				// The URL's host, as .NET checks it (Go sends no server
				// name for an address).
				if err := leaf.VerifyHostname(urlHost(rawURL)); err != nil {
					errs = append(errs, "RemoteCertificateNameMismatch")
				}
				trust = "None"
				if len(errs) > 0 {
					trust = strings.Join(errs, ", ")
				}
				if trust != "None" && !insecure {
					return errors.New("untrusted")
				}
				return nil
			}},
		DisableKeepAlives: true,
	}
	client := &http.Client{Transport: tr, Timeout: timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	result := func(status int, body, msg, st string) int {
		return v.result(field{"status", status}, field{"body", body}, field{"error", msg}, field{"error_status", st},
			field{"subject", subject}, field{"issuer", issuer}, field{"expires", expires}, field{"trust", trust})
	}
	req, err := http.NewRequestWithContext(v.ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return v.fail(&psError{Message: `Exception calling "Create" with "1" argument(s): "Invalid URI: The format of the URI could not be determined."`,
			Statement: "$req = [System.Net.HttpWebRequest]::Create([uri]$in.url)", Category: "NotSpecified", Exception: "UriFormatException", ErrorID: "UriFormatException"})
	}
	req.Header.Set("User-Agent", "onboard-check")
	resp, err := client.Do(req)
	if err != nil {
		var ne net.Error
		switch {
		case resolveFailed != "":
			return result(0, "", "The remote name could not be resolved: '"+resolveFailed+"'", "NameResolutionFailure")
		case trust != "" && trust != "None":
			return result(0, "", "The underlying connection was closed: Could not establish trust relationship for the SSL/TLS secure channel.", "TrustFailure")
		case errors.As(err, &ne) && ne.Timeout():
			return result(0, "", "The operation has timed out", "Timeout")
		case strings.Contains(err.Error(), "connection refused"):
			return result(0, "", "Unable to connect to the remote server", "ConnectFailure")
		}
		return result(0, "", "The underlying connection was closed: An unexpected error occurred on a send.", "SendFailure")
	}
	defer resp.Body.Close()
	body := ""
	if readBody {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		body = string(b)
	}
	return result(resp.StatusCode, body, "", "")
}

func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Hostname()
}

// dotnetName writes a distinguished name as X509Certificate.Subject does:
// "CN=x, O=y".
func dotnetName(s string) string { return strings.ReplaceAll(s, ",", ", ") }
