package main

import (
	"strings"
	"testing"
)

// A hire who can write the folder of a managed file puts a link where the
// file goes. The file step must replace the link with the file, owned and
// moded as written, and leave the link's target alone: it runs as root.
func TestFileStepDoesNotFollowLinks(t *testing.T) {
	l := needLab(t)
	e := newEnv(t, l)
	wsExec(t, l, "ws6", `set -e
rm -rf /srv/fsym /root/fsym-victim /root/fsym-victim-dir
mkdir -p /srv/fsym /root/fsym-victim-dir
chown nobody /srv/fsym
echo secret > /root/fsym-victim && chmod 600 /root/fsym-victim
chmod 700 /root/fsym-victim-dir
ln -s /root/fsym-victim /srv/fsym/to-file.conf
ln -s /root/fsym-victim-dir /srv/fsym/to-dir.conf`)
	pb := e.write("link.yaml", `person:
  employee_id: E61
  given_name: Lin
  surname: Kerr
  start_date: 2026-12-01
machine:
  host: ws6
  files:
    - {path: /srv/fsym/to-file.conf, content: "one\n", owner: nobody, group: nogroup, mode: "0640"}
    - {path: /srv/fsym/to-dir.conf, content: "two\n", owner: nobody, group: nogroup, mode: "0640"}
`)
	code, out, stderr := e.onboard(pb)
	if code != 0 {
		t.Errorf("exit %d\n%s\n%s", code, out, stderr)
	}
	got := wsExec(t, l, "ws6", `stat -c '%n %F %U:%G %a' /root/fsym-victim /root/fsym-victim-dir /srv/fsym/to-file.conf /srv/fsym/to-dir.conf
ls -A /root/fsym-victim-dir; cat /root/fsym-victim /srv/fsym/to-file.conf /srv/fsym/to-dir.conf`)
	want := `/root/fsym-victim regular file root:root 600
/root/fsym-victim-dir directory root:root 700
/srv/fsym/to-file.conf regular file nobody:nogroup 640
/srv/fsym/to-dir.conf regular file nobody:nogroup 640
secret
one
two
`
	if got != want {
		t.Errorf("after the file step:\n%s\nwant:\n%s", got, want)
	}
	if left := wsExec(t, l, "ws6", "ls -A /srv/fsym"); strings.Count(left, "\n") != 2 {
		t.Errorf("temporary files left in the folder:\n%s", left)
	}
}
