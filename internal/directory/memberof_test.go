package directory

import "testing"

func TestInGroup(t *testing.T) {
	const g = "cn=Engineering,ou=Groups,dc=corp,dc=example,dc=test"
	tests := []struct {
		name     string
		memberOf []string
		want     bool
	}{
		{"the same DN", []string{g}, true},
		{"another case", []string{"CN=engineering,OU=groups,DC=corp,DC=example,DC=test"}, true},
		{"spaces after commas", []string{"cn=Engineering, ou=Groups, dc=corp, dc=example, dc=test"}, true},
		{"among others", []string{"cn=sales,ou=Groups,dc=corp,dc=example,dc=test", g}, true},
		{"another group", []string{"cn=Engineering-2,ou=Groups,dc=corp,dc=example,dc=test"}, false},
		{"the same name elsewhere", []string{"cn=Engineering,ou=Old,dc=corp,dc=example,dc=test"}, false},
		{"no memberOf (a server without the overlay)", nil, false},
		{"an unparsable value", []string{"not a DN ="}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := &User{Attrs: map[string][]string{}}
			if tt.memberOf != nil {
				u.Attrs["memberof"] = tt.memberOf
			}
			if got := u.InGroup(g); got != tt.want {
				t.Errorf("InGroup = %v, want %v", got, tt.want)
			}
		})
	}
}
