package directory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Extra attributes a playbook may set (UserSpec.Extra) are an allow-list:
// informational attributes only. Anything else can change who may log on
// or what runs at logon (altSecurityIdentities, msDS-KeyCredentialLink,
// servicePrincipalName, scriptPath, ...), so it must be allowed by name in
// the inventory, which the technician owns; what the adapter manages, and
// passwords, can never be allowed.
var defaultAttributes = map[Kind][]string{
	ActiveDirectory: append([]string{
		"c", "co", "company", "countryCode", "description", "division", "employeeType",
		"facsimileTelephoneNumber", "generationQualifier", "homePhone", "info", "initials", "ipPhone", "l",
		"middleName", "mobile", "otherMobile", "otherTelephone", "pager", "personalTitle",
		"physicalDeliveryOfficeName", "postalCode", "postOfficeBox", "st", "streetAddress",
		"telephoneNumber", "wWWHomePage",
	}, extensionAttributes()...),
	// inetOrgPerson's (and its parents') informational attributes.
	OpenLDAP: {
		"businessCategory", "carLicense", "description", "destinationIndicator", "employeeType",
		"facsimileTelephoneNumber", "homePhone", "homePostalAddress", "initials", "l", "labeledURI",
		"mobile", "o", "ou", "pager", "physicalDeliveryOfficeName", "postalAddress", "postalCode",
		"postOfficeBox", "preferredLanguage", "roomNumber", "st", "street", "telephoneNumber",
	},
}

// extensionAttributes are Exchange's extensionAttribute1-15, free text.
func extensionAttributes() []string {
	var a []string
	for i := 1; i <= 15; i++ {
		a = append(a, fmt.Sprintf("extensionAttribute%d", i))
	}
	return a
}

// DefaultAttributes lists the extra attributes a playbook may set in a
// directory of this kind without the inventory allowing more.
func DefaultAttributes(kind Kind) []string { return slices.Clone(defaultAttributes[kind]) }

// ErrAttributeNotAllowed: an extra attribute is not on the allow-list.
var ErrAttributeNotAllowed = errors.New("not allowed")

// Managed reports whether the adapter sets the attribute itself, or it is
// a password: no inventory can allow it as an extra attribute.
func Managed(attr string) bool { return protectedAttrs[strings.ToLower(attr)] }

// CheckAttribute decides whether a playbook may set attr in a directory of
// this kind: it is on the kind's allow-list or among allow (the
// inventory's additions), and is not one the adapter manages.
func CheckAttribute(kind Kind, attr string, allow []string) error {
	if !validAttrName(attr) {
		return fmt.Errorf("attribute %q: %w: not an attribute name", attr, ErrInvalidValue)
	}
	if Managed(attr) {
		return fmt.Errorf("attribute %s: %w: onboard sets it itself, or it is a password", attr, ErrAttributeNotAllowed)
	}
	eq := func(a string) bool { return strings.EqualFold(a, attr) }
	if slices.ContainsFunc(defaultAttributes[kind], eq) || slices.ContainsFunc(allow, eq) {
		return nil
	}
	return fmt.Errorf("attribute %s: %w: not one of the informational attributes a playbook may set in %s (docs/directory.md), nor allowed by the inventory",
		attr, ErrAttributeNotAllowed, kind)
}
