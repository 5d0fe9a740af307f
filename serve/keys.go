package serve

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/charmbracelet/ssh"
	gossh "golang.org/x/crypto/ssh"
)

// DefaultHostKeyPath is where the host key is kept when --host-key is not
// given: optlab/host_ed25519 under $XDG_DATA_HOME, or else under the user's
// configuration directory.
func DefaultHostKeyPath() (string, error) {
	dir := os.Getenv("XDG_DATA_HOME")
	if dir == "" {
		var err error
		if dir, err = os.UserConfigDir(); err != nil {
			return "", fmt.Errorf("no place for the host key (give --host-key): %w", err)
		}
	}
	return filepath.Join(dir, "optlab", "host_ed25519"), nil
}

// loadHostKey reads the private host key at path, first generating an
// ed25519 key there (and its .pub beside it) when there is no file. It
// reports whether it generated one.
func loadHostKey(path string) (gossh.Signer, bool, error) {
	data, err := os.ReadFile(path)
	created := false
	if errors.Is(err, fs.ErrNotExist) {
		data, err = writeHostKey(path)
		created = true
	}
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	signer, err := gossh.ParsePrivateKey(data)
	if err != nil {
		return nil, false, fmt.Errorf("host key %s: %w", path, err)
	}
	return signer, created, nil
}

// writeHostKey generates an ed25519 key and writes it in OpenSSH format to
// path (mode 0600, created with its directory) and its public half to
// path.pub. The private key file appears whole or not at all.
func writeHostKey(path string) ([]byte, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := gossh.MarshalPrivateKey(priv, "optlab host key")
	if err != nil {
		return nil, err
	}
	data := pem.EncodeToMemory(block)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".host_key*")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name()) // after a successful rename this fails harmlessly
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	spub, err := gossh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	// The .pub file is a convenience for known_hosts; failing to write it
	// does not stop the server.
	_ = os.WriteFile(path+".pub", gossh.MarshalAuthorizedKey(spub), 0o644)
	return data, nil
}

// authorizedKeys is an allowlist of public keys read from an
// authorized_keys file. The file is read again when it changes, so keys can
// be added or removed while the server runs; if the new version does not
// parse, the old list stays in force.
type authorizedKeys struct {
	path string
	warn func(error) // told when a changed file cannot be used

	mu    sync.Mutex
	keys  []gossh.PublicKey
	mtime time.Time
	size  int64
}

// loadAuthorizedKeys reads path; a file that does not parse or holds no key
// is an error.
func loadAuthorizedKeys(path string, warn func(error)) (*authorizedKeys, error) {
	a := &authorizedKeys{path: path, warn: warn}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("--authorized-keys: %w", err)
	}
	keys, err := parseAuthorizedKeys(path)
	if err != nil {
		return nil, err
	}
	a.keys, a.mtime, a.size = keys, fi.ModTime(), fi.Size()
	return a, nil
}

// parseAuthorizedKeys reads every key of an authorized_keys file, saying
// which line is wrong when one is.
func parseAuthorizedKeys(path string) ([]gossh.PublicKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--authorized-keys: %w", err)
	}
	var keys []gossh.PublicKey
	for i, line := range bytes.Split(data, []byte("\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || line[0] == '#' {
			continue
		}
		k, _, _, _, err := gossh.ParseAuthorizedKey(line)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: not a public key: %w", path, i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no public keys in the file: nobody could log in", path)
	}
	return keys, nil
}

// allowed reports whether key is on the list.
func (a *authorizedKeys) allowed(key gossh.PublicKey) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.refreshLocked()
	for _, k := range a.keys {
		if ssh.KeysEqual(k, key) {
			return true
		}
	}
	return false
}

// refreshLocked reads the file again if it has changed since last read.
func (a *authorizedKeys) refreshLocked() {
	fi, err := os.Stat(a.path)
	if err != nil || (fi.ModTime().Equal(a.mtime) && fi.Size() == a.size) {
		return
	}
	keys, err := parseAuthorizedKeys(a.path)
	a.mtime, a.size = fi.ModTime(), fi.Size() // warn once per change
	if err != nil {
		if a.warn != nil {
			a.warn(fmt.Errorf("%w; keeping the keys read before", err))
		}
		return
	}
	a.keys = keys
}
