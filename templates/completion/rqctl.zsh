#compdef rqctl
# rqctl completion for zsh. Load it in ~/.zshrc (after compinit):
#   source <(rqctl completion zsh)
# or install it as _rqctl in a directory of $fpath.
_rqctl() {
  local -a lines specs
  local line value desc
  lines=("${(@f)$(${words[1]} __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
  if [[ ${lines[1]} == files ]]; then
    _files
    return
  fi
  for line in "${(@)lines[2,-1]}"; do
    [[ -z $line ]] && continue
    value=${line%%$'\t'*}
    desc=${line#*$'\t'}
    [[ $desc == $line ]] && desc=
    specs+=("${value//:/\\:}${desc:+:$desc}")
  done
  (( ${#specs} )) && _describe -t values rqctl specs
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _rqctl "$@"
else
  compdef _rqctl rqctl
fi
