package winsim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
)

// Files: file-check and the upload ops of internal/remote/winrm.

func opFileCheck(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.fs.file(v.str("path")) // Test-Path -PathType Leaf
	if f == nil {
		return v.result(field{"exists", false}, field{"sha256", ""})
	}
	sum := sha256.Sum256(f.data)
	return v.result(field{"exists", true}, field{"sha256", hex.EncodeToString(sum[:])})
}

// opFileRead is file-read (step.WinFile's --diff): the machine has no
// links, so a path is a file or absent.
func opFileRead(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	f := h.fs.file(v.str("path"))
	if f == nil {
		return v.result(field{"state", "absent"}, field{"data", ""})
	}
	data := f.data
	if n, err := strconv.Atoi(v.str("max")); err == nil && len(data) > n+1 {
		data = data[:n+1]
	}
	return v.result(field{"state", "file"}, field{"data", base64.StdEncoding.EncodeToString(data)})
}

// uploadChunk is the data of win-upload (internal/remote/winrm/upload.go).
type uploadChunk struct {
	Path   string `json:"path"`
	Temp   string `json:"temp"`
	Data   string `json:"data"`
	Append bool   `json:"append"`
	Final  bool   `json:"final"`
	Size   int64  `json:"size"`
}

func opUpload(v *inv) int {
	h := v.h
	var ch uploadChunk
	if err := json.Unmarshal(v.data, &ch); err != nil {
		return v.fail(&psError{Message: "winsim: win-upload data: " + err.Error(), ErrorID: "winsim"})
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	fs := h.fs
	bytes, err := base64.StdEncoding.DecodeString(ch.Data)
	if err != nil {
		return v.fail(&psError{Message: `Exception calling "FromBase64String" with "1" argument(s): "The input is not a valid Base-64 string as it contains a non-base 64 character, more than two padding characters, or an illegal character among the padding characters. "`,
			Statement: "[Convert]::FromBase64String($in.data)", Exception: "MethodInvocationException", ErrorID: "FormatException"})
	}
	// try { [IO.File]::Open(temp, Append|Create) ... } catch { Remove-Item temp; throw }
	fail := func(e *psError) int {
		fs.remove(ch.Temp)
		return v.fail(e)
	}
	data := bytes
	if ch.Append {
		if old := fs.file(ch.Temp); old != nil {
			data = append(slices.Clone(old.data), bytes...)
		}
	}
	if err := fs.writeFile(ch.Temp, data); err != nil {
		msg := fmt.Sprintf("Could not find a part of the path '%s'.", normPath(ch.Temp))
		id := "DirectoryNotFoundException"
		if err == errAccessDenied {
			msg, id = fmt.Sprintf("Access to the path '%s' is denied.", normPath(ch.Temp)), "UnauthorizedAccessException"
		}
		return fail(&psError{Message: `Exception calling "Open" with "4" argument(s): "` + msg + `"`,
			Statement: "[IO.File]::Open($in.temp, $mode, [IO.FileAccess]::Write, [IO.FileShare]::None)", Exception: "MethodInvocationException", ErrorID: id})
	}
	if !ch.Final {
		return 0
	}
	if size := int64(len(data)); size != ch.Size {
		msg := fmt.Sprintf("received %d of %d bytes", size, ch.Size)
		return fail(&psError{Message: msg, Statement: "throw ('received ' + $size + ' of ' + $in.size + ' bytes')", Category: "OperationStopped", Target: msg, ErrorID: msg})
	}
	if err := fs.move(ch.Temp, ch.Path); err != nil {
		return fail(&psError{Command: "Move-Item", Message: fmt.Sprintf("Could not find a part of the path '%s'.", normPath(ch.Path)),
			Statement: "Move-Item -LiteralPath $in.temp -Destination $in.path -Force", Category: "WriteError", Target: normPath(ch.Temp),
			Exception: "IOException", ErrorID: "MoveFileInfoItemIOError,Microsoft.PowerShell.Commands.MoveItemCommand"})
	}
	return 0
}

func opUploadAbort(v *inv) int {
	h := v.h
	h.mu.Lock()
	defer h.mu.Unlock()
	h.fs.remove(v.str("temp"))
	return 0
}
