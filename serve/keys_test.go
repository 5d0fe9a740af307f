package serve

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"
)

// The host key is generated once, private to its owner, and kept: a second
// start presents the same key.
func TestHostKeyGeneratedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "host_ed25519") // a directory that does not exist yet
	s1, created, err := loadHostKey(path)
	if err != nil || !created {
		t.Fatalf("first start: created=%v, %v", created, err)
	}
	if s1.PublicKey().Type() != gossh.KeyAlgoED25519 {
		t.Errorf("host key type %s, want ed25519", s1.PublicKey().Type())
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("host key mode %v, want 0600", fi.Mode().Perm())
	}
	pub, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	if pk, _, _, _, err := gossh.ParseAuthorizedKey(pub); err != nil || !strings.EqualFold(gossh.FingerprintSHA256(pk), gossh.FingerprintSHA256(s1.PublicKey())) {
		t.Errorf(".pub file does not hold the host key: %v", err)
	}
	s2, created, err := loadHostKey(path)
	if err != nil || created {
		t.Fatalf("second start: created=%v, %v", created, err)
	}
	if gossh.FingerprintSHA256(s1.PublicKey()) != gossh.FingerprintSHA256(s2.PublicKey()) {
		t.Error("the host key changed between starts")
	}
}

func TestHostKeyUnreadable(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host")
	_ = os.WriteFile(path, []byte("not a key"), 0o600)
	if _, _, err := loadHostKey(path); err == nil || !strings.Contains(err.Error(), path) {
		t.Errorf("a broken host key gave %v", err)
	}
}

func TestAuthorizedKeys(t *testing.T) {
	dir := t.TempDir()
	a, b, c := newSigner(t), newSigner(t), newSigner(t)
	line := func(s gossh.Signer) string { return string(gossh.MarshalAuthorizedKey(s.PublicKey())) }
	path := filepath.Join(dir, "authorized_keys")
	// Options before the key, comments and blank lines are fine.
	_ = os.WriteFile(path, []byte("# students\n\nno-pty "+line(a)+"  "+line(b)), 0o600)
	var warned []error
	keys, err := loadAuthorizedKeys(path, func(err error) { warned = append(warned, err) })
	if err != nil {
		t.Fatal(err)
	}
	if !keys.allowed(a.PublicKey()) || !keys.allowed(b.PublicKey()) || keys.allowed(c.PublicKey()) {
		t.Fatal("wrong keys allowed")
	}

	// Editing the file takes effect without a restart...
	time.Sleep(10 * time.Millisecond) // a different modification time
	_ = os.WriteFile(path, []byte(line(c)), 0o600)
	if !keys.allowed(c.PublicKey()) || keys.allowed(a.PublicKey()) {
		t.Fatal("the edited file was not read again")
	}
	// ...unless the new version is broken: then the old keys stay.
	time.Sleep(10 * time.Millisecond)
	_ = os.WriteFile(path, []byte(line(a)+"ssh-ed25519 garbage\n"), 0o600)
	if !keys.allowed(c.PublicKey()) || keys.allowed(a.PublicKey()) {
		t.Fatal("a broken file replaced the keys")
	}
	if len(warned) != 1 || !strings.Contains(warned[0].Error(), ":2:") {
		t.Fatalf("warnings %v, want one naming line 2", warned)
	}

	for name, content := range map[string]string{
		"empty":   "# nobody\n",
		"garbage": line(a) + "not a key at all\n",
	} {
		p := filepath.Join(dir, name)
		_ = os.WriteFile(p, []byte(content), 0o600)
		if _, err := loadAuthorizedKeys(p, nil); err == nil {
			t.Errorf("%s file accepted", name)
		}
	}
	if _, err := loadAuthorizedKeys(filepath.Join(dir, "missing"), nil); err == nil {
		t.Error("a missing file was accepted")
	}
}
