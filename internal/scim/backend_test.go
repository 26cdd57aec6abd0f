package scim

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// memBackend is the test double of the serve core's store: users in a
// map, unique userName and externalId, and a record of every call so that
// tests can see exactly what the Backend received.
type memBackend struct {
	mu    sync.Mutex
	users map[string]User
	next  int
	now   time.Time
	calls []string
	got   []User // the users Create and Replace received
}

func newMemBackend() *memBackend {
	return &memBackend{users: map[string]User{}, now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
}

func (m *memBackend) conflict(u User, except string) error {
	for id, o := range m.users {
		if id == except {
			continue
		}
		if strings.EqualFold(o.UserName, u.UserName) || (u.ExternalID != "" && o.ExternalID == u.ExternalID) {
			return fmt.Errorf("store: userName %q: %w", u.UserName, ErrConflict)
		}
	}
	return nil
}

func (m *memBackend) Create(_ context.Context, u User) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "create")
	m.got = append(m.got, u)
	if u.ID != "" || !u.Created.IsZero() {
		return User{}, fmt.Errorf("store: create got ID or meta already set")
	}
	if err := m.conflict(u, ""); err != nil {
		return User{}, err
	}
	m.next++
	m.now = m.now.Add(time.Minute)
	u.ID = fmt.Sprintf("u%04d", m.next)
	u.Created, u.LastModified, u.Version = m.now, m.now, `W/"1"`
	m.users[u.ID] = u
	return u, nil
}

func (m *memBackend) Get(_ context.Context, id string) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	return u, nil
}

func (m *memBackend) List(context.Context) ([]User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u)
	}
	return out, nil
}

func (m *memBackend) Replace(_ context.Context, id string, u User) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "replace")
	m.got = append(m.got, u)
	old, ok := m.users[id]
	if !ok {
		return User{}, fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	if u.Version != "" && u.Version != old.Version {
		return User{}, fmt.Errorf("store: user %q changed since version %s: %w", id, u.Version, ErrConflict)
	}
	if err := m.conflict(u, id); err != nil {
		return User{}, err
	}
	m.now = m.now.Add(time.Minute)
	u.ID, u.Created, u.LastModified = id, old.Created, m.now
	u.Version = fmt.Sprintf(`W/"%d"`, len(m.calls))
	m.users[id] = u
	return u, nil
}

func (m *memBackend) Delete(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls = append(m.calls, "delete")
	if _, ok := m.users[id]; !ok {
		return fmt.Errorf("store: user %q: %w", id, ErrNotFound)
	}
	delete(m.users, id)
	return nil
}
