package scim

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"sort"
	"time"

	"github.com/elimity-com/scim"
	scimerrors "github.com/elimity-com/scim/errors"
	libfilter "github.com/elimity-com/scim/filter"
)

// users implements the library's ResourceHandler over a Backend.
type users struct {
	b       Backend
	log     *slog.Logger
	schemas schemas
}

func (h users) Create(r *http.Request, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u := fromDocument(attrs)
	if err := checkUser(u); err != nil {
		return scim.Resource{}, err
	}
	created, err := h.b.Create(r.Context(), u)
	if err != nil {
		return scim.Resource{}, h.backendError(r, "create user", "", err)
	}
	return resource(created), nil
}

func (h users) Get(r *http.Request, id string) (scim.Resource, error) {
	u, err := h.b.Get(r.Context(), id)
	if err != nil {
		return scim.Resource{}, h.backendError(r, "get user", id, err)
	}
	return resource(u), nil
}

func (h users) GetAll(r *http.Request, params scim.ListRequestParams) (scim.Page, error) {
	all, err := h.b.List(r.Context())
	if err != nil {
		return scim.Page{}, h.backendError(r, "list users", "", err)
	}
	// Paging needs one order whatever the page size (RFC 7644 §3.4.2.4).
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].Created.Equal(all[j].Created) {
			return all[i].Created.Before(all[j].Created)
		}
		return all[i].ID < all[j].ID
	})
	var fv *libfilter.Validator
	if params.FilterValidator != nil {
		v := h.schemas.filterValidator(*params.FilterValidator)
		fv = &v
	}
	matched := all[:0:0]
	for _, u := range all {
		if fv == nil || passes(*fv, filterDocument(u)) {
			matched = append(matched, u)
		}
	}
	page := scim.Page{TotalResults: len(matched), Resources: []scim.Resource{}}
	start := params.StartIndex - 1
	for i := start; i < len(matched) && i < start+params.Count; i++ {
		page.Resources = append(page.Resources, resource(matched[i]))
	}
	return page, nil
}

func (h users) Replace(r *http.Request, id string, attrs scim.ResourceAttributes) (scim.Resource, error) {
	u := fromDocument(attrs)
	u.ID = id
	if err := checkUser(u); err != nil {
		return scim.Resource{}, err
	}
	replaced, err := h.b.Replace(r.Context(), id, u)
	if err != nil {
		return scim.Resource{}, h.backendError(r, "replace user", id, err)
	}
	return resource(replaced), nil
}

func (h users) Patch(r *http.Request, id string, ops []scim.PatchOperation) (scim.Resource, error) {
	cur, err := h.b.Get(r.Context(), id)
	if err != nil {
		return scim.Resource{}, h.backendError(r, "get user", id, err)
	}
	doc := document(cur)
	if err := h.schemas.applyPatch(doc, ops); err != nil {
		var se scimerrors.ScimError
		if errors.As(err, &se) {
			return scim.Resource{}, se
		}
		return scim.Resource{}, scimerrors.ScimErrorInvalidValue
	}
	u := fromDocument(doc)
	u.ID, u.Created, u.LastModified, u.Version = cur.ID, cur.Created, cur.LastModified, cur.Version
	if reflect.DeepEqual(u, cur) {
		// Entra re-sends active=true on every cycle: nothing changed, so
		// the Backend hears nothing.
		return resource(cur), nil
	}
	if err := checkUser(u); err != nil {
		return scim.Resource{}, err
	}
	// Version stays the one the operations were applied to, so that a
	// Backend can refuse with ErrConflict when the user changed meanwhile.
	u.Created, u.LastModified = time.Time{}, time.Time{}
	replaced, err := h.b.Replace(r.Context(), id, u)
	if err != nil {
		return scim.Resource{}, h.backendError(r, "replace user", id, err)
	}
	return resource(replaced), nil
}

func (h users) Delete(r *http.Request, id string) error {
	if err := h.b.Delete(r.Context(), id); err != nil {
		return h.backendError(r, "delete user", id, err)
	}
	return nil
}

// backendError turns a Backend error into the SCIM error the client sees.
// An unexpected error is logged and answered 500 without its text, which
// may hold anything.
func (h users) backendError(r *http.Request, what, id string, err error) error {
	var inv *InvalidError
	switch {
	case errors.Is(err, ErrNotFound):
		return scimerrors.ScimErrorResourceNotFound(id)
	case errors.Is(err, ErrConflict):
		return scimerrors.ScimErrorUniqueness
	case errors.As(err, &inv):
		return invalidValue(inv.Attribute, inv.Message)
	}
	h.log.ErrorContext(r.Context(), "scim backend failed", "op", what, "id", id, "err", err)
	return scimerrors.ScimError{Status: http.StatusInternalServerError, Detail: "The service provider failed to " + what + "."}
}

func invalidValue(attr, msg string) scimerrors.ScimError {
	return scimerrors.ScimError{
		Status:   http.StatusBadRequest,
		ScimType: scimerrors.ScimTypeInvalidValue,
		Detail:   fmt.Sprintf("%s: %s", attr, msg),
	}
}

// checkUser refuses what the Backend must never receive: no userName, a
// start date that is not a date, control characters or overlong values
// (checked on the request body already, and again here for values that
// PATCH assembled).
func checkUser(u User) error {
	if u.UserName == "" {
		return invalidValue("userName", "required")
	}
	for _, f := range fields {
		if err := checkString(f.name(), *f.get(&u)); err != nil {
			return err
		}
	}
	if err := checkString("emails.value", u.Email); err != nil {
		return err
	}
	if u.StartDate != "" {
		if _, err := time.Parse(time.DateOnly, u.StartDate); err != nil {
			return invalidValue(OnboardSchema+":startDate", "not a date (YYYY-MM-DD)")
		}
	}
	return nil
}
