package scim

import (
	"github.com/elimity-com/scim"
	"github.com/elimity-com/scim/optional"
	"github.com/elimity-com/scim/schema"
)

// maxResults bounds a page: Okta asks for count=100, Entra for less.
const maxResults = 200

// onboardExtension is the schema of the attributes onboard needs that no
// standard schema has: when the hire starts, the workstation to prepare and
// where the hire works.
func onboardExtension() schema.Schema {
	str := func(name, desc string) schema.CoreAttribute {
		return schema.SimpleCoreAttribute(schema.SimpleStringParams(schema.StringParams{
			Name:        name,
			Description: optional.NewString(desc),
		}))
	}
	return schema.Schema{
		ID:          OnboardSchema,
		Name:        optional.NewString("OnboardUser"),
		Description: optional.NewString("What onboard needs to prepare a new hire's workstation"),
		Attributes: []schema.CoreAttribute{
			str("startDate", "First working day, YYYY-MM-DD."),
			str("workstation", "Name of the workstation to prepare for the hire."),
			str("location", "Site or office where the hire works."),
		},
	}
}

// userResourceType is the only resource type served: Groups are not
// provided.
func userResourceType(h scim.ResourceHandler) scim.ResourceType {
	return scim.ResourceType{
		ID:          optional.NewString("User"),
		Name:        "User",
		Description: optional.NewString("A new hire; groups are not provided by this service provider"),
		Endpoint:    "/Users",
		Schema:      schema.CoreUserSchema(),
		SchemaExtensions: []scim.SchemaExtension{
			{Schema: schema.ExtensionEnterpriseUser()},
			{Schema: onboardExtension()},
		},
		Handler: h,
	}
}

func serviceProviderConfig() *scim.ServiceProviderConfig {
	return &scim.ServiceProviderConfig{
		AuthenticationSchemes: []scim.AuthenticationScheme{{
			Type:        scim.AuthenticationTypeOauthBearerToken,
			Name:        "OAuth Bearer Token",
			Description: "Authentication with the secret token configured in onboard serve (Authorization: Bearer TOKEN)",
			SpecURI:     optional.NewString("https://www.rfc-editor.org/info/rfc6750"),
			Primary:     true,
		}},
		MaxResults:       maxResults,
		SupportFiltering: true,
		SupportPatch:     true,
	}
}
