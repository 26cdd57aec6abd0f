// Package scim serves the SCIM 2.0 endpoint (RFC 7643, RFC 7644) through
// which identity providers such as Okta and Microsoft Entra ID provision new
// hires: a SCIM User becomes a hire in the Backend the serve core provides.
package scim

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Schema URIs this endpoint serves.
const (
	UserSchema       = "urn:ietf:params:scim:schemas:core:2.0:User"
	EnterpriseSchema = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
	OnboardSchema    = "urn:ietf:params:scim:schemas:extension:onboard:2.0:User"
)

// Backend is what the serve core implements: its store, where a SCIM user
// becomes a hire. The handler validates every value before it calls a
// method, so the Backend sees only well-formed, bounded data.
type Backend interface {
	// Create stores a new user, assigns its ID and Meta fields and starts
	// its onboarding.
	Create(ctx context.Context, u User) (User, error)
	// Get returns the user with the given ID.
	Get(ctx context.Context, id string) (User, error)
	// List returns all users in a stable order; the handler filters and
	// pages.
	List(ctx context.Context) ([]User, error)
	// Replace stores a change to an existing user; Active false cancels its
	// pending runs. From a PATCH, u.Version is the version the change was
	// made to: a Backend that sees another may refuse with ErrConflict.
	// From a PUT it is empty.
	Replace(ctx context.Context, id string, u User) (User, error)
	// Delete removes the user and cancels its pending runs.
	Delete(ctx context.Context, id string) error
}

// Errors a Backend returns (wrapped or not) so that the handler can answer
// with the right SCIM status.
var (
	// ErrNotFound: no user with that ID (404).
	ErrNotFound = errors.New("scim: user not found")
	// ErrConflict: a unique value (userName, externalId) is taken (409,
	// scimType uniqueness).
	ErrConflict = errors.New("scim: user already exists")
)

// InvalidError is a Backend's refusal of a value: the handler answers 400
// invalidValue with a detail that names the attribute.
type InvalidError struct {
	Attribute string // SCIM attribute name, e.g. "userName" or "urn:…:onboard:2.0:User:startDate"
	Message   string
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("invalid %s: %s", e.Attribute, e.Message)
}

// TokenChecker reports whether a bearer token is valid. Comparing in
// constant time is the caller's part.
type TokenChecker func(token string) bool

// User is a SCIM User as onboard holds it: the core attributes a hire
// needs, the enterprise extension and the onboard extension.
type User struct {
	ID         string // assigned by the Backend
	ExternalID string // the provider's own ID for the user
	UserName   string

	GivenName, FamilyName, DisplayName, NickName, Title string
	Email                                               string // the primary (else work, else first) email
	Active                                              bool

	// Enterprise extension (urn:ietf:params:scim:schemas:extension:enterprise:2.0:User);
	// Manager is the manager's ID (manager.value).
	EmployeeNumber, Department, CostCenter, Organization, Division, Manager string

	// Onboard extension (urn:ietf:params:scim:schemas:extension:onboard:2.0:User):
	// StartDate is YYYY-MM-DD.
	StartDate, Workstation, Location string

	Created, LastModified time.Time // assigned by the Backend
	Version               string    // entity tag (meta.version), assigned by the Backend
}
