# rqctl completion for fish. Load it:
#   rqctl completion fish | source
# or install it: rqctl completion fish > ~/.config/fish/completions/rqctl.fish
function __rqctl_complete
    set -l tokens (commandline -opc) (commandline -ct)
    set -l out ($tokens[1] __complete -- $tokens[2..-1] 2>/dev/null)
    if test "$out[1]" = files
        __fish_complete_path (commandline -ct)
        return
    end
    printf '%s\n' $out[2..-1]
end
complete -c rqctl -f -a '(__rqctl_complete)'
