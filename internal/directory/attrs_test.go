package directory

import (
	"errors"
	"testing"
)

func TestCheckAttribute(t *testing.T) {
	for _, c := range []struct {
		kind  Kind
		attr  string
		allow []string
		want  error // nil: allowed
	}{
		{ActiveDirectory, "physicalDeliveryOfficeName", nil, nil},
		{ActiveDirectory, "PHYSICALDELIVERYOFFICENAME", nil, nil},
		{ActiveDirectory, "extensionAttribute15", nil, nil},
		{ActiveDirectory, "extensionAttribute16", nil, ErrAttributeNotAllowed},
		{OpenLDAP, "roomNumber", nil, nil},
		{OpenLDAP, "extensionAttribute1", nil, ErrAttributeNotAllowed}, // AD's, not OpenLDAP's
		// The four the review named, refused in both kinds by default.
		{ActiveDirectory, "altSecurityIdentities", nil, ErrAttributeNotAllowed},
		{ActiveDirectory, "msDS-KeyCredentialLink", nil, ErrAttributeNotAllowed},
		{ActiveDirectory, "servicePrincipalName", nil, ErrAttributeNotAllowed},
		{ActiveDirectory, "scriptPath", nil, ErrAttributeNotAllowed},
		{OpenLDAP, "altSecurityIdentities", nil, ErrAttributeNotAllowed},
		{OpenLDAP, "servicePrincipalName", nil, ErrAttributeNotAllowed},
		{OpenLDAP, "sshPublicKey", nil, ErrAttributeNotAllowed},
		// The inventory may extend the list...
		{ActiveDirectory, "scriptPath", []string{"scriptPath"}, nil},
		{OpenLDAP, "seealso", []string{"seeAlso"}, nil},
		// ...but never with what onboard manages, or a password.
		{ActiveDirectory, "unicodePwd", []string{"unicodePwd"}, ErrAttributeNotAllowed},
		{OpenLDAP, "userPassword", []string{"userPassword"}, ErrAttributeNotAllowed},
		{ActiveDirectory, "userAccountControl", []string{"userAccountControl"}, ErrAttributeNotAllowed},
		{ActiveDirectory, "sAMAccountName", []string{"sAMAccountName"}, ErrAttributeNotAllowed},
		{OpenLDAP, "uidNumber", []string{"uidNumber"}, ErrAttributeNotAllowed},
		{ActiveDirectory, "bad name", []string{"bad name"}, ErrInvalidValue},
	} {
		err := CheckAttribute(c.kind, c.attr, c.allow)
		if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
			t.Errorf("CheckAttribute(%s, %s, %q) = %v, want %v", c.kind, c.attr, c.allow, err, c.want)
		}
	}
}

// The adapter enforces the allow-list itself: a spec that did not come
// through the planner (a stored plan, a caller of the package) is refused
// before anything reaches the server.
func TestValidateExtraAttributes(t *testing.T) {
	c := testClient(ActiveDirectory)
	spec := UserSpec{Username: "jdoe", GivenName: "J", Surname: "Doe", Extra: map[string]string{"scriptPath": `\\evil\x.bat`}}
	if err := c.validate(c.normalize(spec), true); !errors.Is(err, ErrAttributeNotAllowed) {
		t.Fatalf("validate with scriptPath = %v, want ErrAttributeNotAllowed", err)
	}
	spec.Extra = map[string]string{"telephoneNumber": "+1 555 0100"}
	if err := c.validate(c.normalize(spec), true); err != nil {
		t.Fatalf("validate with telephoneNumber = %v", err)
	}
	c.cfg.AllowAttributes = []string{"scriptPath"}
	spec.Extra = map[string]string{"scriptPath": "logon.bat"}
	if err := c.validate(c.normalize(spec), true); err != nil {
		t.Fatalf("validate with an allowed scriptPath = %v", err)
	}
}
