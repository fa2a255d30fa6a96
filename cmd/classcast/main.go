// Command classcast is live classroom streaming infrastructure in one binary.
package main

import (
	"fmt"
	"os"
)

const usage = `classcast — live classroom streaming (cascaded SFU speaking the LiveKit protocol)

Usage:
  classcast serve [flags]     run the server (SFU, signaling, web app)
  classcast token [flags]     print an access token
  classcast loadtest [flags]  simulate classrooms against a server and report capacity
  classcast version           print the version

Run "classcast <command> --help" for the flags of a command.
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "serve":
		err = runServe(os.Args[2:])
	case "token":
		err = runToken(os.Args[2:], os.Stdout)
	case "loadtest":
		err = runLoadtest(os.Args[2:])
	case "version", "--version":
		fmt.Println("classcast", version())
	case "help", "-h", "--help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "classcast: unknown command %q\n\n%s", os.Args[1], usage)
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "classcast:", err)
		os.Exit(1)
	}
}
